"""Login (password, throttling, TOTP) and the caller's own profile.

Throttling (recon.auth.throttle, docs/adr/0011-hostile-input.md): every attempt reserves a password check
before argon2 runs; a refused reservation answers 429 `account-locked` with Retry-After, even for the right
password, and the same way for known and unknown emails. `users.failed_logins` counts consecutive failures
for the record (single SQL statements: concurrent attempts cannot lose a count, and they do not bump the
user's optimistic-lock version).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, String, bindparam, or_, select, update
from sqlalchemy.orm import Session

from recon.audit.service import record_account_event, record_event
from recon.auth.errors import AccountLocked, InvalidCredentials, InvalidTotp, TotpRequired
from recon.auth.security import (
    hash_password,
    normalize_email,
    password_needs_rehash,
    verify_password_or_dummy,
)
from recon.auth.sessions import IssuedTokens, SessionService
from recon.auth.throttle import LoginThrottleService
from recon.auth.totp import consume_code, totp_enabled
from recon.config import Settings
from recon.core.time import utcnow
from recon.models import Project, ProjectMember, Role, User

_INVALID = "invalid email or password"


class LoginService:
    def __init__(self, session: Session, settings: Settings, client_ip: str) -> None:
        self.session = session
        self.settings = settings
        self.client_ip = client_ip
        engine = session.get_bind()
        assert isinstance(engine, Engine)
        self.throttle = LoginThrottleService(engine, settings)

    def login(self, email: str, password: str, totp_code: str | None) -> IssuedTokens:
        """Tokens for valid credentials. Rejections (AuthRejected) are raised after recording the failure;
        the endpoint answers them without rolling that record back."""
        email = normalize_email(email)
        # Reserved (and committed) before this session reads anything: on SQLite a read snapshot older than
        # the reservation could not be upgraded to the writes below.
        reservation = self.throttle.reserve(email, self.client_ip)
        user = self.session.scalar(select(User).where(User.email == email))
        if not reservation.allowed:
            self._fail(user, email, "locked", {})
            raise AccountLocked(reservation.retry_after_s)
        password_ok = verify_password_or_dummy(user.password_hash if user else None, password)
        if user is None:
            self._fail(None, email, "unknown_email", {})
            raise InvalidCredentials(_INVALID)
        now = utcnow()
        if not password_ok:
            self._count_failure(user, "bad_password")
            raise InvalidCredentials(_INVALID)
        if not user.is_active:
            self._fail(user, email, "inactive", {})
            raise InvalidCredentials(_INVALID)
        if totp_enabled(user):
            if not totp_code:
                raise TotpRequired("this account uses two-factor authentication: send `totp_code`")
            if not consume_code(self.session, user, totp_code):
                self._count_failure(user, "bad_totp")
                raise InvalidTotp("the TOTP code is wrong, expired or already used")
        return self._succeed(user, password, now)

    # -- outcomes -------------------------------------------------------------------------------------------
    def _succeed(self, user: User, password: str, now: dt.datetime) -> IssuedTokens:
        self.throttle.clear(self.session, user.email, self.client_ip)
        values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
        if password_needs_rehash(user.password_hash):
            values["password_hash"] = hash_password(password)
        self._update_user(user, **values)
        tokens = SessionService(self.session, self.settings).start(user)
        record_account_event(
            self.session,
            "user",
            user.id,
            "auth.login",
            actor_id=user.id,
            data={"method": "password", "totp": totp_enabled(user), "session_id": tokens.session_id},
        )
        return tokens

    def _count_failure(self, user: User, reason: str) -> None:
        count = self.session.execute(
            update(User)
            .where(User.id == user.id)
            .values(failed_logins=User.failed_logins + 1)
            .returning(User.failed_logins)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        self._fail(user, user.email, reason, {"consecutive_failures": count})

    def _fail(self, user: User | None, email: str, reason: str, data: Mapping[str, Any]) -> None:
        record_event(
            self.session,
            action="auth.login_failed",
            actor_id=user.id if user else None,
            project_id=None,
            entity_type="user",
            entity_id=user.id if user else None,
            data={"reason": reason, "email": email, **data},
        )

    def _update_user(self, user: User, **values: Any) -> None:
        self.session.execute(
            update(User)
            .where(User.id == user.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        self.session.expire(user, list(values))


# Built once (GET /auth/me runs it on every call); `only_project` None matches every project.
_MEMBERSHIPS = (
    select(Project, ProjectMember.role)
    .join(ProjectMember, ProjectMember.project_id == Project.id)
    .where(
        ProjectMember.user_id == bindparam("user_id"),
        Project.org_id == bindparam("org_id"),
        Project.deleted_at.is_(None),
        or_(bindparam("only_project", type_=String).is_(None), Project.id == bindparam("only_project")),
    )
    .order_by(Project.created_at, Project.id)
)


def memberships(session: Session, user: User, only_project: str | None) -> list[tuple[Project, Role]]:
    """Live projects of the user's organisation they are a member of, with their role (oldest first)."""
    params = {"user_id": user.id, "org_id": user.org_id, "only_project": only_project}
    return [(project, role) for project, role in session.execute(_MEMBERSHIPS, params)]
