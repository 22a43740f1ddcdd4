"""Password hashing (argon2id) and signed tokens (JWT HS256)."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from functools import cache, lru_cache
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from recon.config import Settings
from recon.core.errors import Unauthorized
from recon.core.time import utcnow

JWT_ALGORITHM = "HS256"
ACCESS = "access"
MIN_PASSWORD_LENGTH = 12

# argon2-cffi defaults are argon2id (RFC 9106 low-memory profile: t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()


def normalize_email(email: str) -> str:
    return email.strip().lower()


def password_problems(password: str) -> list[str]:
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip() != password:
        problems.append("must not start or end with whitespace")
    return problems


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return _hasher.hash("no such user: the verify below only spends the same time")


def verify_password_or_dummy(password_hash: str | None, password: str) -> bool:
    """Verify against the user's hash, or (unknown user) against a dummy hash and fail: an unknown email
    costs the same argon2 time as a wrong password, so timing does not reveal which accounts exist."""
    if password_hash is None:
        verify_password(_dummy_hash(), password)
        return False
    return verify_password(password_hash, password)


def sha256_hex(value: str) -> str:
    """Digest of a high-entropy secret (refresh token, API key): fast to look up, infeasible to invert."""
    return hashlib.sha256(value.encode()).hexdigest()


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def encode_token(
    settings: Settings,
    *,
    subject: str,
    token_type: str,
    ttl_s: int,
    claims: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> str:
    issued = now or utcnow()
    payload: dict[str, Any] = {
        **(claims or {}),
        "sub": subject,
        "type": token_type,
        "iat": issued,
        "exp": issued + dt.timedelta(seconds=ttl_s),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, settings.jwt_secret.get_secret_value(), algorithm=JWT_ALGORITHM)


def create_access_token(settings: Settings, user_id: str, claims: dict[str, Any] | None = None) -> str:
    return encode_token(
        settings, subject=user_id, token_type=ACCESS, ttl_s=settings.access_token_ttl_s, claims=claims
    )


# A client sends the same access token with every request until it expires: its verified claims are kept
# (keyed by the secret and the token's exact text, so only the very token that was verified hits), and each
# use checks its expiry again the way PyJWT does. PyJWT's decoding was ~a tenth of an authenticated
# request's CPU (docs/adr/0026, fourth pass). Session revocation is checked per request as before (the
# database), and a rejected token is never kept.
@lru_cache(maxsize=4096)
def _verified_claims(secret: str, token: str) -> dict[str, Any]:
    payload: dict[str, Any] = jwt.decode(
        token, secret, algorithms=[JWT_ALGORITHM], options={"require": ["sub", "exp", "type"]}
    )
    return payload


def decode_token(settings: Settings, token: str, *, expected_type: str = ACCESS) -> dict[str, Any]:
    """Verify signature, expiry and type; any failure is a 401 problem (without saying which check failed
    beyond expired/invalid)."""
    secret = settings.jwt_secret.get_secret_value()
    try:
        payload = _verified_claims(secret, token)
        if int(payload["exp"]) <= dt.datetime.now(tz=dt.UTC).timestamp():  # expired since kept: PyJWT says so
            payload = _verified_claims.__wrapped__(secret, token)
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the access token has expired") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("the token is invalid") from None
    if payload.get("type") != expected_type:
        raise Unauthorized("the token is invalid")
    return dict(payload)
