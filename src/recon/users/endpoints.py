"""HTTP surface of users: organisation administrators (superusers) create, invite, list, change and
deactivate the users of their organisation; an invited person redeems the invitation (public)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel

from recon.auth.dependencies import Superuser
from recon.auth.policy import PUBLIC
from recon.core.db import DbSession
from recon.core.errors import fields_under
from recon.core.pagination import Page, Pagination
from recon.core.params import UserId
from recon.core.ratelimit import Limiter, client_ip
from recon.users.schemas import (
    AdminUserOut,
    InvitationAccept,
    InvitationOut,
    UserCreate,
    UserCreated,
    UserUpdate,
)
from recon.users.service import UserService, accept_invitation

router = APIRouter(prefix="/users", tags=["users"])


class InvitationAccepted(BaseModel):
    user_id: str
    email: str
    is_active: bool


@router.get("", response_model=Page[AdminUserOut])
def list_users(
    admin: Superuser,
    session: DbSession,
    page: Pagination,
    active: Annotated[bool | None, Query(description="Only active (true) or inactive (false) users")] = None,
    email: Annotated[str | None, Query(max_length=320, description="Email contains this")] = None,
) -> Page[AdminUserOut]:
    """The users of your organisation with their project roles, oldest first (organisation admins)."""
    return UserService(session, admin, admin.org_id).page(page, active=active, email=email)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=UserCreated)
def create_user(body: UserCreate, admin: Superuser, session: DbSession) -> UserCreated:
    """Create a user of your organisation (organisation admins), optionally with project roles
    (`memberships`). Without `password` the user is invited: the answer holds a one-time `invitation.token`
    (valid 7 days) to redeem at `POST /users/invitations/accept`. Audited (`user.created` / `user.invited`,
    `member.added` per project)."""
    service = UserService(session, admin, admin.org_id)
    with fields_under("body"):
        created = service.create(body)
    (out,) = service.out([created.user])
    return UserCreated(**out.model_dump(), invitation=created.invitation)


@router.get("/{user_id}", response_model=AdminUserOut)
def get_user(user_id: UserId, admin: Superuser, session: DbSession) -> AdminUserOut:
    service = UserService(session, admin, admin.org_id)
    (out,) = service.out([service.get(user_id)])
    return out


@router.patch("/{user_id}", response_model=AdminUserOut)
def update_user(user_id: UserId, body: UserUpdate, admin: Superuser, session: DbSession) -> AdminUserOut:
    """Change `full_name`, or deactivate (`is_active: false`: logins, tokens and API keys stop at once) and
    reactivate a user. You cannot deactivate yourself or the organisation's last active admin (409)."""
    service = UserService(session, admin, admin.org_id)
    (out,) = service.out([service.update(user_id, body)])
    return out


@router.post("/{user_id}/invitation", status_code=status.HTTP_201_CREATED, response_model=InvitationOut)
def reinvite_user(user_id: UserId, admin: Superuser, session: DbSession) -> InvitationOut:
    """A new invitation token for an invited user who has not accepted yet (earlier tokens stop working)."""
    return UserService(session, admin, admin.org_id).reinvite(user_id)


@router.post("/invitations/accept", response_model=InvitationAccepted, dependencies=[PUBLIC])
def accept(
    body: InvitationAccept, request: Request, session: DbSession, limiter: Limiter
) -> InvitationAccepted:
    """Redeem an invitation with a password of your choice (at least 12 characters); then log in. 400
    `invalid-invitation` for an unknown, used, withdrawn or expired token."""
    limiter.hit("auth_ip", limiter.limit_for("auth_ip"), client_ip(request))
    with fields_under("body"):
        user = accept_invitation(session, body.token, body.password)
    return InvitationAccepted(user_id=user.id, email=user.email, is_active=user.is_active)
