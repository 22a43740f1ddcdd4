"""Problems of the auth endpoints.

`AuthRejected` problems are *answers*, not crashes: the endpoint renders them as a response instead of letting
them propagate, so the request transaction still commits what the rejection recorded (failed-login counter,
lockout, audit event, a refresh-token family revoked on reuse).
"""

from __future__ import annotations

from typing import Any

from recon.core.errors import ProblemError, Unauthorized


class AuthRejected(ProblemError):
    """Marker: render as a response and keep the transaction."""


class InvalidCredentials(AuthRejected, Unauthorized):
    slug, title = "invalid-credentials", "Invalid credentials"


class TotpRequired(AuthRejected, Unauthorized):
    slug, title = "totp-required", "TOTP code required"


class InvalidTotp(AuthRejected, Unauthorized):
    slug, title = "invalid-totp", "Invalid TOTP code"


class InvalidRefreshToken(AuthRejected, Unauthorized):
    slug, title = "invalid-refresh-token", "Invalid refresh token"


class AccountLocked(AuthRejected):
    """429 (not 423): clients already honour Retry-After on 429; the type tells it apart from rate limits."""

    status, slug, title = 429, "account-locked", "Account temporarily locked"

    def __init__(self, retry_after_s: int, **kwargs: Any) -> None:
        super().__init__(
            f"too many failed logins; try again in {retry_after_s} seconds",
            headers={"Retry-After": str(retry_after_s)},
            **kwargs,
        )
        self.retry_after_s = retry_after_s
