"""API keys for machines: `rk_<prefix>_<secret>`.

The prefix (8 hex characters) is stored in clear: it finds the row and lets people tell keys apart. The secret
is 256 random bits, stored as sha256 (a fast digest is enough: nothing about a 256-bit secret can be guessed).
The full key is shown once, at creation. A key acts as its user, optionally restricted to one project.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import Session

from recon.audit.service import record_event
from recon.auth.security import sha256_hex
from recon.core.errors import Conflict, Unauthorized, or_404
from recon.core.pagination import Page, PageParams, SortKey, keyset_page
from recon.core.time import utcnow
from recon.models import User
from recon.models.auth import ApiKey

API_KEY_PREFIX = "rk_"
MAX_ACTIVE_KEYS_PER_USER = 100
# last_used_at is written at most this often per key (not on every request).
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)
_KEY_FORMAT = re.compile(r"^rk_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class NewKey:
    api_key: ApiKey
    raw: str  # shown once


def parse_key(raw: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None."""
    match = _KEY_FORMAT.match(raw)
    return (match.group(1), match.group(2)) if match else None


def display_prefix(api_key: ApiKey) -> str:
    return f"{API_KEY_PREFIX}{api_key.prefix}"


def authenticate(session: Session, raw: str) -> tuple[ApiKey, User]:
    """The live key and its active user, else 401 (the message says why, never anything about the secret)."""
    parsed = parse_key(raw.strip())
    if parsed is None:
        raise Unauthorized("malformed API key (expected rk_<prefix>_<secret>)")
    prefix, secret = parsed
    api_key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    # compare_digest on equal-length hex strings; an unknown prefix still pays one digest.
    expected = api_key.secret_hash if api_key is not None else "0" * 64
    if not hmac.compare_digest(sha256_hex(secret), expected) or api_key is None:
        raise Unauthorized("unknown API key")
    now = utcnow()
    if api_key.revoked_at is not None:
        raise Unauthorized("this API key has been revoked")
    if api_key.expires_at is not None and api_key.expires_at <= now:
        raise Unauthorized("this API key has expired")
    user = session.get(User, api_key.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("the user of this API key is disabled")
    _touch(session, api_key, now)
    return api_key, user


def _touch(session: Session, api_key: ApiKey, now: dt.datetime) -> None:
    """Record use, at most once per LAST_USED_RESOLUTION, without racing other requests (no version bump)."""
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == api_key.id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_RESOLUTION),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


class ApiKeyService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self, user: User, *, name: str, project_id: str | None, expires_at: dt.datetime | None
    ) -> NewKey:
        """`project_id` must be a live project the user is a member of (checked by the caller)."""
        active = self.session.scalar(
            select(func.count())
            .select_from(ApiKey)
            .where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
        )
        if (active or 0) >= MAX_ACTIVE_KEYS_PER_USER:
            raise Conflict(f"at most {MAX_ACTIVE_KEYS_PER_USER} active API keys per user; revoke unused ones")
        prefix = self._free_prefix()
        secret = secrets.token_urlsafe(32)  # 43 characters, 256 bits
        api_key = ApiKey(
            user_id=user.id,
            name=name,
            prefix=prefix,
            secret_hash=sha256_hex(secret),
            project_id=project_id,
            expires_at=expires_at,
        )
        self.session.add(api_key)
        self.session.flush()
        self._audit(user, api_key, "apikey.created", {"expires_at": expires_at})
        return NewKey(api_key=api_key, raw=f"{API_KEY_PREFIX}{prefix}_{secret}")

    def page(self, user: User, params: PageParams) -> Page[ApiKey]:
        """The user's keys, newest first, revoked ones included (marked)."""
        keys = [SortKey(ApiKey.created_at, descending=True), SortKey(ApiKey.id, descending=True)]
        return keyset_page(self.session, select(ApiKey).where(ApiKey.user_id == user.id), keys, params)

    def revoke(self, user: User, key_id: str) -> ApiKey:
        """Revoke one of the user's own keys (idempotent); anybody else's key is 'not found'."""
        found = self.session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user.id))
        api_key = or_404(found, "API key")
        if api_key.revoked_at is None:
            api_key.revoked_at = utcnow()
            self.session.flush()
            self._audit(user, api_key, "apikey.revoked")
        return api_key

    def _audit(self, user: User, api_key: ApiKey, action: str, extra: dict[str, Any] | None = None) -> None:
        """An event of the key's owner about the key, in the key's project chain (or the organisation's)."""
        record_event(
            self.session,
            action=action,
            actor_id=user.id,
            project_id=api_key.project_id,
            entity_type="api_key",
            entity_id=api_key.id,
            data={"name": api_key.name, "prefix": display_prefix(api_key), **(extra or {})},
        )

    def _free_prefix(self) -> str:
        for _ in range(10):  # 2^32 prefixes: a collision is rare, ten in a row is impossible in practice
            prefix = secrets.token_hex(4)
            if not self.session.scalar(select(exists().where(ApiKey.prefix == prefix))):
                return prefix
        raise Conflict("could not allocate an API key prefix; retry")
