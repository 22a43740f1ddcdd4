"""Who is calling and what they may reach, without FastAPI: the caller (`Principal`) from a token or an API
key, and a project seen through the caller's membership (`ProjectAccess`). Services, jobs and the CLI take
these; recon.auth.dependencies only wires them into requests.

Every authenticated request runs the statements below, so they are built once with bind parameters (building
and hashing a SELECT cost more than running it on a pooled connection) and the token's session and its user
come back in one query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from recon.auth import api_keys
from recon.auth.security import decode_token
from recon.config import Settings
from recon.core.errors import Forbidden, NotFound, Unauthorized
from recon.models import Project, ProjectMember, Role, User
from recon.models.auth import AuthSession


@dataclass(frozen=True)
class Principal:
    user: User
    method: Literal["jwt", "api_key"]
    api_key_id: str | None = None
    # An API key may be restricted to one project (None: acts for all of its user's projects).
    project_id: str | None = None


@dataclass(frozen=True)
class ProjectAccess:
    project: Project
    member: ProjectMember
    user: User

    @property
    def role(self) -> Role:
        return self.member.role


# (session, path params) -> project id of the addressed resource, or None when it does not exist.
ProjectIdResolver = Callable[[Session, Mapping[str, str]], str | None]


def project_of(model: type[Any], param: str) -> ProjectIdResolver:
    """The resolver of a resource addressed without its project (`/jobs/{job_id}`): the `project_id` of the
    `model` row whose id is the path parameter `param` (None: no such row, or one of no project -> 404)."""
    columns = model.__table__.c

    def project_id(session: Session, params: Mapping[str, str]) -> str | None:
        return session.scalar(select(columns.project_id).where(columns.id == params[param]))

    return project_id


# The user (its organisation joined by the mapping) and, when the token names one, its login session.
_USER = select(User).where(User.id == bindparam("user_id"))
_USER_AND_SESSION = (
    select(User, AuthSession.id, AuthSession.revoked_at)
    .outerjoin(AuthSession, AuthSession.id == bindparam("session_id"))
    .where(User.id == bindparam("user_id"))
)
_SESSION = select(AuthSession.revoked_at).where(AuthSession.id == bindparam("session_id"))
_PROJECT_MEMBER = (
    select(Project, ProjectMember)
    .join(ProjectMember, ProjectMember.project_id == Project.id)
    .where(
        Project.id == bindparam("project_id"),
        Project.org_id == bindparam("org_id"),
        Project.deleted_at.is_(None),
        ProjectMember.user_id == bindparam("user_id"),
    )
)
SESSION_ENDED = "this session has ended (logged out or revoked); log in again"
USER_GONE = "the user of this token no longer exists or is disabled"


def authenticate_api_key(session: Session, raw_key: str) -> Principal:
    """Resolve an API key (`rk_...`, see recon.auth.api_keys) to its principal, else 401."""
    api_key, user = api_keys.authenticate(session, raw_key)
    return Principal(user=user, method="api_key", api_key_id=api_key.id, project_id=api_key.project_id)


def authenticate_access_token(session: Session, settings: Settings, token: str) -> Principal:
    """A valid JWT of an active user whose login session (claim `sid`, when present) has not ended."""
    claims = decode_token(settings, token)
    user_id, session_id = str(claims["sub"]), claims.get("sid")
    if session_id is None:
        user = session.scalars(_USER, {"user_id": user_id}).first()
    else:
        row = session.execute(_USER_AND_SESSION, {"user_id": user_id, "session_id": str(session_id)}).first()
        if row is None:  # no such user: still say "session ended" first when it has
            if not _session_live(session, str(session_id)):
                raise Unauthorized(SESSION_ENDED)
            raise Unauthorized(USER_GONE)
        user, found_id, revoked_at = row
        if found_id is None or revoked_at is not None:
            raise Unauthorized(SESSION_ENDED)
    if user is None or not user.is_active:
        raise Unauthorized(USER_GONE)
    return Principal(user=user, method="jwt")


def _session_live(session: Session, session_id: str) -> bool:
    row = session.execute(_SESSION, {"session_id": session_id}).first()
    return row is not None and row[0] is None


def load_project_access(
    session: Session, principal: Principal, project_id: str | None, minimum: Role
) -> ProjectAccess:
    """The project seen through the caller's membership: 404 when not visible, 403 when the role is low."""
    user = principal.user
    if project_id is None or (principal.project_id is not None and principal.project_id != project_id):
        raise NotFound("project not found")
    row = session.execute(
        _PROJECT_MEMBER, {"project_id": project_id, "org_id": user.org_id, "user_id": user.id}
    ).first()
    if row is None:
        raise NotFound("project not found")
    project, member = row
    access = ProjectAccess(project=project, member=member, user=user)
    if not access.role.at_least(minimum):
        raise Forbidden(f"this action needs the {minimum} role or higher (you are {access.role})")
    return access


class ResourceProject:
    """The project of a resource addressed without it (`/runs/{run_id}/...`), read with the caller's
    membership in **one** statement: the resource's row joined to its project and the caller's membership,
    where `project_of` + `load_project_access` take two (two round trips on PostgreSQL on every request of
    such a route; docs/adr/0039). Same answers: no such resource, another organisation's or a deleted
    project, not a member, or an API key restricted to another project -> 404 "project not found"; a role
    below `minimum` -> 403. `columns`: more of the resource's columns, handed to `seen(session, resource id,
    project id, values)` when the caller may see it (e.g. a run's status, kept for the request)."""

    def __init__(
        self,
        model: type[Any],
        param: str,
        columns: Sequence[Any] = (),
        seen: Callable[[Session, str, str, tuple[Any, ...]], None] | None = None,
    ) -> None:
        table = model.__table__
        self.param = param
        self.seen = seen
        self.statement = (
            select(Project, ProjectMember, table.c.project_id, *columns)
            .select_from(table)
            .join(Project, Project.id == table.c.project_id)
            .join(
                ProjectMember,
                and_(ProjectMember.project_id == Project.id, ProjectMember.user_id == bindparam("user_id")),
            )
            .where(
                table.c.id == bindparam("resource_id"),
                Project.org_id == bindparam("org_id"),
                Project.deleted_at.is_(None),
            )
        )

    def access(
        self, session: Session, principal: Principal, params: Mapping[str, str], minimum: Role
    ) -> ProjectAccess:
        user = principal.user
        resource_id = params[self.param]
        row = session.execute(
            self.statement, {"resource_id": resource_id, "org_id": user.org_id, "user_id": user.id}
        ).first()
        if row is None:
            raise NotFound("project not found")
        project, member, project_id, *values = row
        if principal.project_id is not None and principal.project_id != project_id:
            raise NotFound("project not found")
        access = ProjectAccess(project=project, member=member, user=user)
        if not access.role.at_least(minimum):
            raise Forbidden(f"this action needs the {minimum} role or higher (you are {access.role})")
        if self.seen is not None:
            self.seen(session, resource_id, project_id, tuple(values))
        return access
