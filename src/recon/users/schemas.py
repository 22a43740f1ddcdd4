"""Request and response bodies of the users domain."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, EmailStr, Field

from recon.core.schemas import Input
from recon.models import Role

Password = Annotated[str, Field(min_length=1, max_length=1000)]


class MembershipGrant(Input):
    """A project role to grant (the project must belong to the administrator's organisation)."""

    project_id: str = Field(max_length=36)
    role: Role


class UserCreate(Input):
    """Create a user of the caller's organisation. With `password` the user can log in at once; without, the
    user is invited: inactive until the one-time invitation token (in the answer, shown once) is redeemed at
    `POST /users/invitations/accept` with a password of the user's choice."""

    email: EmailStr
    full_name: str = Field(default="", max_length=200)
    password: Password | None = Field(default=None, description="At least 12 characters; omit to invite")
    memberships: Annotated[list[MembershipGrant], Field(max_length=100)] = Field(
        default_factory=list, description="Project roles to grant at once"
    )


class UserUpdate(Input):
    """Change a user: `is_active: false` deactivates (logins, tokens and API keys stop at once)."""

    full_name: str | None = Field(default=None, max_length=200)
    is_active: bool | None = None
    version: int | None = Field(default=None, ge=1, description="The user's version (409 when stale)")


class InvitationAccept(Input):
    token: str = Field(min_length=1, max_length=200)
    password: Password


class UserMembershipOut(BaseModel):
    project_id: str
    project_name: str
    role: Role


class AdminUserOut(BaseModel):
    """A user as an organisation administrator sees it."""

    id: str
    org_id: str
    email: str
    full_name: str
    is_active: bool
    is_superuser: bool
    invited: bool = Field(description="Invited and not yet accepted (inactive until then)")
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    memberships: list[UserMembershipOut] = Field(default_factory=list)
    version: int


class InvitationOut(BaseModel):
    token: str = Field(description="One-time token, shown only in this answer: hand it to the user")
    expires_at: dt.datetime


class UserCreated(AdminUserOut):
    invitation: InvitationOut | None = Field(default=None, description="When invited (no password given)")
