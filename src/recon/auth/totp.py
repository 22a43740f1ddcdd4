"""Optional TOTP second factor (RFC 6238, 30-second steps, 6 digits; pyotp).

Setup stores a fresh secret (not yet required); enabling needs one valid code, which proves the user's app
has the secret; from then on login needs a code. A code is accepted for its own step and one step either side
(clock drift), and only once: the last accepted step is stored and earlier or equal steps are refused.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass

import pyotp
from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from recon.audit.service import record_account_event
from recon.core.errors import Conflict, Unprocessable
from recon.core.repository import updated_rows
from recon.core.time import utcnow
from recon.models import User

TOTP_ISSUER = "Reconciliation Platform"
DRIFT_STEPS = 1


@dataclass(frozen=True)
class TotpSetup:
    secret: str
    otpauth_uri: str


def totp_enabled(user: User) -> bool:
    return user.totp_enabled_at is not None and user.totp_secret is not None


def matching_step(
    secret: str, code: str, *, after_step: int | None, now: dt.datetime | None = None
) -> int | None:
    """The time step `code` is valid for (within the drift window and later than `after_step`), else None."""
    code = code.strip()
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now or utcnow())
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if after_step is not None and step <= after_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def consume_code(session: Session, user: User, code: str) -> bool:
    """Check an enabled user's code and record its step atomically (two requests cannot both use it)."""
    if user.totp_secret is None:
        return False
    step = matching_step(user.totp_secret, code, after_step=user.totp_last_step)
    if step is None:
        return False
    claim = (
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
    )
    return updated_rows(session, claim) == 1


def _invalid_code() -> Unprocessable:
    return Unprocessable(
        "the TOTP code is wrong, expired or already used",
        errors=[{"field": "code", "message": "invalid TOTP code"}],
    )


class TotpService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def setup(self, user: User) -> TotpSetup:
        if totp_enabled(user):
            raise Conflict("TOTP is already enabled; disable it first to set up a new secret")
        user.totp_secret = pyotp.random_base32()  # 160 bits
        user.totp_last_step = None
        self.session.flush()
        uri = pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)
        return TotpSetup(secret=user.totp_secret, otpauth_uri=uri)

    def enable(self, user: User, code: str) -> None:
        if totp_enabled(user):
            raise Conflict("TOTP is already enabled")
        if user.totp_secret is None:
            raise Conflict("no TOTP secret set up yet; call POST /api/v1/auth/totp/setup first")
        step = matching_step(user.totp_secret, code, after_step=None)
        if step is None:
            raise _invalid_code()
        user.totp_enabled_at = utcnow()
        user.totp_last_step = step
        self.session.flush()
        self._audit(user, "auth.totp_enabled")

    def disable(self, user: User, code: str) -> None:
        if not totp_enabled(user):
            raise Conflict("TOTP is not enabled")
        if not consume_code(self.session, user, code):
            raise _invalid_code()
        self.session.refresh(user)  # consume_code wrote the row behind the ORM's back
        user.totp_secret = None
        user.totp_enabled_at = None
        user.totp_last_step = None
        self.session.flush()
        self._audit(user, "auth.totp_disabled")

    def _audit(self, user: User, action: str) -> None:
        record_account_event(self.session, "user", user.id, action, actor_id=user.id)
