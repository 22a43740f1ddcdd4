"""Login sessions: access tokens plus rotating refresh tokens with reuse detection.

A login starts an `AuthSession` (the refresh-token *family*). Each refresh token is opaque (`rt_` + 256 random
bits), stored as sha256, and valid once: refreshing marks it used and issues the next one in the same family.
Presenting a used token again means it was copied (stolen): the whole family is revoked. Access tokens carry
the session id (`sid`), so revoking a session (logout, reuse) also stops its access tokens at once.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any, NoReturn

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from recon.audit.service import record_account_event
from recon.auth.errors import InvalidRefreshToken
from recon.auth.security import create_access_token, sha256_hex
from recon.config import Settings
from recon.core.repository import updated_rows
from recon.core.time import utcnow
from recon.models import User
from recon.models.auth import AuthSession, RefreshToken

REFRESH_TOKEN_PREFIX = "rt_"  # noqa: S105 - a marker for secret scanners, not a secret
log = structlog.get_logger("recon.auth")


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    session_id: str


class SessionService:
    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    def start(self, user: User) -> IssuedTokens:
        auth_session = AuthSession(user_id=user.id, last_used_at=utcnow())
        self.session.add(auth_session)
        self.session.flush()
        return self._issue(user, auth_session)

    def rotate(self, raw_token: str) -> IssuedTokens:
        """Exchange a refresh token for a new pair. Raises InvalidRefreshToken (after revoking the family when
        the token was already used); the caller must keep the transaction (see recon.auth.errors)."""
        now = utcnow()
        found = self._find(raw_token)
        if found is None:
            raise InvalidRefreshToken("the refresh token is not valid")
        token, auth_session = found
        if auth_session.revoked_at is not None:
            raise InvalidRefreshToken("the session of this refresh token has ended; log in again")
        if token.used_at is not None:
            self._reuse_detected(auth_session)
        if token.expires_at <= now:
            raise InvalidRefreshToken("the refresh token has expired; log in again")
        if not self._mark_used(token, now):
            self._reuse_detected(auth_session)  # a concurrent refresh with the same token won the race
        user = self.session.get(User, auth_session.user_id)
        if user is None or not user.is_active:
            self.revoke(auth_session, "user_disabled")
            raise InvalidRefreshToken("the user of this session is disabled")
        auth_session.last_used_at = now
        return self._issue(user, auth_session)

    def logout(self, raw_token: str) -> AuthSession | None:
        """Revoke the family of the presented refresh token (used or not). Unknown tokens: nothing to do."""
        found = self._find(raw_token)
        if found is None:
            return None
        _token, auth_session = found
        if auth_session.revoked_at is None:
            self.revoke(auth_session, "logout")
            self._audit(auth_session, "auth.logout")
        return auth_session

    def revoke(self, auth_session: AuthSession, reason: str) -> None:
        auth_session.revoked_at = utcnow()
        auth_session.revoked_reason = reason
        self.session.flush()

    def _issue(self, user: User, auth_session: AuthSession) -> IssuedTokens:
        raw = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        ttl = self.settings.refresh_token_ttl_s
        self.session.add(
            RefreshToken(
                session_id=auth_session.id,
                token_hash=sha256_hex(raw),
                created_at=now,
                expires_at=now + dt.timedelta(seconds=ttl),
            )
        )
        self.session.flush()
        access = create_access_token(self.settings, user.id, {"sid": auth_session.id})
        return IssuedTokens(
            access_token=access,
            refresh_token=raw,
            expires_in=self.settings.access_token_ttl_s,
            refresh_expires_in=ttl,
            session_id=auth_session.id,
        )

    def _find(self, raw_token: str) -> tuple[RefreshToken, AuthSession] | None:
        row = self.session.execute(
            select(RefreshToken, AuthSession)
            .join(AuthSession, AuthSession.id == RefreshToken.session_id)
            .where(RefreshToken.token_hash == sha256_hex(raw_token))
        ).first()
        return None if row is None else row.tuple()

    def _mark_used(self, token: RefreshToken, now: dt.datetime) -> bool:
        """Atomic: of two concurrent refreshes with one token, exactly one wins; the other is a reuse."""
        won = (
            updated_rows(
                self.session,
                update(RefreshToken)
                .where(RefreshToken.id == token.id, RefreshToken.used_at.is_(None))
                .values(used_at=now),
            )
            == 1
        )
        if won:
            set_committed_value(token, "used_at", now)  # already written; no second UPDATE
        return won

    def _reuse_detected(self, auth_session: AuthSession) -> NoReturn:
        self.revoke(auth_session, "reuse")
        log.warning("refresh_token_reuse", session_id=auth_session.id, user_id=auth_session.user_id)
        self._audit(auth_session, "auth.refresh_reuse", {"revoked": "session"})
        raise InvalidRefreshToken("this refresh token was already used; the session has been revoked")

    def _audit(self, auth_session: AuthSession, action: str, data: dict[str, Any] | None = None) -> None:
        record_account_event(
            self.session, "auth_session", auth_session.id, action, actor_id=auth_session.user_id, data=data
        )
