"""Login (password, lockout, TOTP) and the caller's own profile.

Lockout: after LOGIN_MAX_FAILURES consecutive failures (wrong password or wrong TOTP code) the account is
locked for LOGIN_LOCKOUT_S seconds: every login answers 429 `account-locked` with Retry-After, even with the
right password. Unknown emails are counted the same way in the rate-limit storage, so neither the answer nor
its timing tells whether an account exists. Counters are updated with single SQL statements (concurrent
attempts cannot lose a count, and they do not bump the user's optimistic-lock version).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, NoReturn

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from recon.audit.service import record_event
from recon.auth.errors import AccountLocked, InvalidCredentials, InvalidTotp, TotpRequired
from recon.auth.security import (
    hash_password,
    normalize_email,
    password_needs_rehash,
    verify_password_or_dummy,
)
from recon.auth.sessions import IssuedTokens, SessionService
from recon.auth.totp import consume_code, totp_enabled
from recon.config import Settings
from recon.core.ratelimit import RateLimiter
from recon.core.time import utcnow
from recon.models import Project, ProjectMember, User

_INVALID = "invalid email or password"


class LoginService:
    def __init__(self, session: Session, settings: Settings, limiter: RateLimiter) -> None:
        self.session = session
        self.settings = settings
        self.limiter = limiter

    def login(self, email: str, password: str, totp_code: str | None) -> IssuedTokens:
        """Tokens for valid credentials. Rejections (AuthRejected) are raised after recording the failure;
        the endpoint answers them without rolling that record back."""
        email = normalize_email(email)
        user = self.session.scalar(select(User).where(User.email == email))
        password_ok = verify_password_or_dummy(user.password_hash if user else None, password)
        if user is None:
            self._unknown_email(email)
        now = utcnow()
        if user.locked_until is not None and user.locked_until > now:
            self._fail(user, "locked", {})
            raise AccountLocked(_seconds_until(user.locked_until, now))
        if not password_ok:
            self._count_failure(user, "bad_password")
            raise InvalidCredentials(_INVALID)
        if not user.is_active:
            self._fail(user, "inactive", {})
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
        values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
        if password_needs_rehash(user.password_hash):
            values["password_hash"] = hash_password(password)
        self._update_user(user, **values)
        tokens = SessionService(self.session, self.settings).start(user)
        record_event(
            self.session,
            action="auth.login",
            actor_id=user.id,
            project_id=None,
            entity_type="user",
            entity_id=user.id,
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
        locked = count >= self.settings.login_max_failures
        if locked:
            # The counter restarts: after the lock expires the user has the full number of attempts again.
            until = utcnow() + dt.timedelta(seconds=self.settings.login_lockout_s)
            self._update_user(user, failed_logins=0, locked_until=until)
        self._fail(user, reason, {"consecutive_failures": count, "locked": locked})

    def _unknown_email(self, email: str) -> NoReturn:
        counter = self.limiter.counter(
            "login_unknown",
            f"{self.settings.login_max_failures} per {self.settings.login_lockout_s} second",
            email,
        )
        locked = not counter.allowed()
        if not locked:
            counter.hit()
        record_event(
            self.session,
            action="auth.login_failed",
            actor_id=None,
            project_id=None,
            entity_type="user",
            entity_id=None,
            data={"reason": "locked" if locked else "unknown_email", "email": email},
        )
        if locked:
            raise AccountLocked(counter.retry_after())
        raise InvalidCredentials(_INVALID)

    def _fail(self, user: User, reason: str, data: Mapping[str, Any]) -> None:
        record_event(
            self.session,
            action="auth.login_failed",
            actor_id=user.id,
            project_id=None,
            entity_type="user",
            entity_id=user.id,
            data={"reason": reason, "email": user.email, **data},
        )

    def _update_user(self, user: User, **values: Any) -> None:
        self.session.execute(
            update(User)
            .where(User.id == user.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        self.session.expire(user, list(values))


def _seconds_until(moment: dt.datetime, now: dt.datetime) -> int:
    return max(1, int((moment - now).total_seconds() + 0.999))


def memberships(session: Session, user: User, only_project: str | None) -> list[tuple[Project, str]]:
    """Live projects of the user's organisation they are a member of, with their role (oldest first)."""
    stmt = (
        select(Project, ProjectMember.role)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(ProjectMember.user_id == user.id, Project.org_id == user.org_id, Project.deleted_at.is_(None))
        .order_by(Project.created_at, Project.id)
    )
    if only_project is not None:
        stmt = stmt.where(Project.id == only_project)
    return [(project, role) for project, role in session.execute(stmt).tuples()]
