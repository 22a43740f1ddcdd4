"""Whose name background work acts in: the creator of a feed or schedule, with their current role."""

from __future__ import annotations

from sqlalchemy.orm import Session

from recon.auth.access import Principal, ProjectAccess, load_project_access
from recon.core.errors import ProblemError
from recon.models import Role, User


def creator_access(session: Session, project_id: str, user_id: str | None) -> ProjectAccess:
    """The creator's access to the project as a preparer (datasets and runs need it). Raises ProblemError
    with the reason when the creator is gone, inactive, no longer a member or below preparer, so background
    work never acts beyond what its creator may do today."""
    user = session.get(User, user_id) if user_id else None
    if user is None or not user.is_active:
        raise ProblemError("the creator of this feed or schedule is no longer an active user", status=409)
    return load_project_access(session, Principal(user=user, method="jwt"), project_id, Role.PREPARER)
