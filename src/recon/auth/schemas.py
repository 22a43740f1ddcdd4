"""Request and response bodies of the auth endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from recon.core.schemas import Input, RowOut
from recon.models import Role


class LoginRequest(Input):
    email: str = Field(min_length=3, max_length=320)
    # Bounded so a huge "password" cannot make argon2 hash megabytes.
    password: str = Field(min_length=1, max_length=1024)
    totp_code: str | None = Field(default=None, pattern=r"^\d{6}$", description="Required once TOTP is on")


class TokenPair(BaseModel):
    access_token: str = Field(description="JWT for `Authorization: Bearer ...`")
    refresh_token: str = Field(description="Opaque, single use: exchange it at /auth/refresh")
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int = Field(description="Seconds the access token is valid")
    refresh_expires_in: int = Field(description="Seconds the refresh token is valid (if unused)")


class RefreshRequest(Input):
    refresh_token: str = Field(min_length=1, max_length=512)


class UserOut(RowOut):
    id: str
    email: str
    full_name: str
    is_superuser: bool
    totp_enabled: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None


class OrgOut(RowOut):
    id: str
    name: str


class MembershipOut(BaseModel):
    project_id: str
    project_name: str
    role: Role


class AuthInfo(BaseModel):
    method: Literal["jwt", "api_key"]
    api_key_id: str | None = None
    project_id: str | None = Field(default=None, description="Set when an API key is restricted to a project")


class MeOut(BaseModel):
    user: UserOut
    org: OrgOut
    memberships: list[MembershipOut]
    auth: AuthInfo


class ApiKeyCreate(Input):
    name: str = Field(min_length=1, max_length=200)
    project_id: str | None = Field(
        default=None, max_length=64, description="Restrict the key to this project (you must be a member)"
    )
    expires_at: dt.datetime | None = Field(default=None, description="Optional expiry (with a time zone)")

    @field_validator("expires_at")
    @classmethod
    def _aware_future(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("give a time zone (e.g. 2030-01-01T00:00:00Z)")
        if value <= dt.datetime.now(dt.UTC):
            raise ValueError("must be in the future")
        return value.astimezone(dt.UTC)


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="Visible start of the key (rk_xxxxxxxx), to tell keys apart")
    project_id: str | None
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The full key. Shown once: store it now, it cannot be retrieved later.")


class TotpSetupOut(BaseModel):
    secret: str = Field(description="Base32 secret (for manual entry)")
    otpauth_uri: str = Field(description="otpauth:// URI (render as a QR code)")


class TotpCode(Input):
    code: str = Field(pattern=r"^\d{6}$", description="6-digit code from the authenticator app")


class TotpStatus(BaseModel):
    enabled: bool
