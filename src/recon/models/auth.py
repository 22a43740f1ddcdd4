"""Organisations (tenants), users and their credentials: login sessions (refresh-token families), API keys."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from recon.models.base import Base, IdMixin, TimestampMixin, VersionMixin
from recon.models.types import UTCDateTime


class Organization(IdMixin, TimestampMixin, Base):
    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(200), unique=True)


class User(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "users"

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"), index=True)
    # Stored lower-cased (see recon.auth.security.normalize_email).
    email: Mapped[str] = mapped_column(String(320), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    # TOTP: the secret is set by /auth/totp/setup and becomes required at login once enabled.
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Last accepted 30-second time step: a code is accepted once (no replay within its window).
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)

    org: Mapped[Organization] = relationship(lazy="joined", innerjoin=True)


class UserInvitation(IdMixin, TimestampMixin, Base):
    """An invitation to set a password: created by an organisation administrator for an inactive user; the
    one-time token (shown once, stored as sha256) activates the user when redeemed."""

    __tablename__ = "user_invitations"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)


class AuthSession(IdMixin, TimestampMixin, Base):
    """One login = one refresh-token family. Revoking it (logout, reuse detected) ends every refresh token of
    the family and the access tokens issued for it (they carry its id as `sid`)."""

    __tablename__ = "auth_sessions"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(32), default=None)


class RefreshToken(IdMixin, Base):
    """An opaque refresh token, stored as sha256 of the token. Used once: refreshing marks it used and issues
    the next token of the same family (session)."""

    __tablename__ = "refresh_tokens"

    session_id: Mapped[str] = mapped_column(ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)


class ApiKey(IdMixin, TimestampMixin, Base):
    """`rk_<prefix>_<secret>`: the prefix is stored in clear (lookup, display), the 256-bit secret hashed."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_user_id_created_at_id", "user_id", "created_at", "id"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    # Restricts the key to one project (None: every project of its user).
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), default=None
    )
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)


class LoginThrottle(Base):
    """Password checks per throttle key (an account, or a client address with an account; keys are digests,
    no email or address in clear): failures in the current window and the moment the next check is allowed.
    Updated with single conditional statements before the password is checked (recon.auth.throttle)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    blocked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
