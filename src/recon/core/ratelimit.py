"""Rate limits with the `limits` library: in memory by default, in Redis when `REDIS_URL` is set (shared by
every replica; keys under `REDIS_KEY_PREFIX` + "ratelimit").

- `RateLimiter.hit(name, limit, *identifiers)` counts one request and raises `TooManyRequests` (429 problem
  with `Retry-After`) when the limit ("10/minute") is spent. Identifiers are hashed, so no email or IP lands
  in Redis in clear.
- `get_rate_limiter(request)`: the app's limiter, created on first use (`create_app` stays free of I/O).
- `rate_limited("write")`: a route dependency, per authenticated user: `@router.post(..., dependencies=
  [rate_limited("write")])`. It needs credentials, so it only narrows a route's policy, never widens it.

`RATE_LIMIT_ENABLED=false` turns the limits off; `counter()` (used for login lockout of unknown emails) works
regardless. If the storage fails (Redis down), requests are let through and the failure is logged: `/ready`
reports Redis, and an outage of the limiter should not become an outage of the API.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from typing import Annotated, Any, Literal

import structlog
from fastapi import Depends, FastAPI, Request
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import SlidingWindowCounterRateLimiter

from recon.config import Settings
from recon.core.errors import TooManyRequests

log = structlog.get_logger("recon.ratelimit")

Scope = Literal["auth", "auth_ip", "write", "read"]
_app_lock = threading.Lock()


def client_ip(request: Request) -> str:
    """The peer address (uvicorn rewrites it from X-Forwarded-For for proxies in FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client is not None else "unknown"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def create_storage(settings: Settings) -> Storage:
    if settings.redis_url:
        return RedisStorage(
            settings.redis_url,
            key_prefix=f"{settings.redis_key_prefix}ratelimit",
            wrap_exceptions=True,
            socket_timeout=2,
            socket_connect_timeout=2,
        )
    return MemoryStorage(wrap_exceptions=True)


class RateLimiter:
    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        self.settings = settings
        self.enabled = settings.rate_limit_enabled
        self.storage = storage or create_storage(settings)
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)

    def limit_for(self, scope: Scope) -> str:
        limits = {
            "auth": self.settings.rate_limit_auth,
            "auth_ip": self.settings.rate_limit_auth_ip,
            "write": self.settings.rate_limit_write,
            "read": self.settings.rate_limit_read,
        }
        return limits[scope]

    def hit(self, name: str, limit: str, *identifiers: str) -> None:
        """Count one request of `name` for `identifiers`; 429 once the limit is spent (no-op if disabled)."""
        if not self.enabled:
            return
        if not self.counter(name, limit, *identifiers).hit():
            raise TooManyRequests(
                f"too many requests ({limit} for {name}); retry later",
                headers={"Retry-After": str(self.counter(name, limit, *identifiers).retry_after())},
            )

    def counter(self, name: str, limit: str, *identifiers: str) -> Counter:
        return Counter(self, parse(limit), name, [_digest(i) for i in identifiers])


class Counter:
    """One limit for one key; every storage failure is logged and treated as 'not limited'."""

    def __init__(self, limiter: RateLimiter, item: RateLimitItem, name: str, keys: list[str]) -> None:
        self.limiter, self.item, self.keys = limiter, item, [name, *keys]

    def _safe(self, default: Any, method: str, *args: Any) -> Any:
        try:
            return getattr(self.limiter.strategy, method)(self.item, *self.keys, *args)
        except StorageError as exc:
            log.error("rate_limit_storage_failed", error=str(exc)[:200], limit=self.keys[0])
            return default

    def hit(self) -> bool:
        """Count one event; False when the limit was already spent."""
        return bool(self._safe(True, "hit"))

    def allowed(self) -> bool:
        """Would one more event fit (without counting it)?"""
        return bool(self._safe(True, "test"))

    def retry_after(self) -> int:
        stats = self._safe(None, "get_window_stats")
        if stats is None:
            return 1
        return max(1, math.ceil(float(stats.reset_time) - time.time()))

    def clear(self) -> None:
        self._safe(None, "clear")


def get_rate_limiter(request: Request) -> RateLimiter:
    return rate_limiter_of(request.app)


def rate_limiter_of(app: FastAPI) -> RateLimiter:
    limiter: RateLimiter | None = getattr(app.state, "rate_limiter", None)
    if limiter is None:
        with _app_lock:
            limiter = getattr(app.state, "rate_limiter", None)
            if limiter is None:
                limiter = RateLimiter(app.state.settings)
                app.state.rate_limiter = limiter
    return limiter


Limiter = Annotated[RateLimiter, Depends(get_rate_limiter)]


def rate_limited(scope: Scope) -> Any:
    """`dependencies=[rate_limited("write")]`: one hit of `scope`'s limit per authenticated user."""
    # Imported here: the auth domain builds on core, so core must not import it at module level.
    from recon.auth.dependencies import get_principal

    # `Any`: a string annotation naming a lazily imported class could not be resolved by FastAPI.
    def limit(limiter: Limiter, principal: Any = Depends(get_principal)) -> None:
        limiter.hit(scope, limiter.limit_for(scope), f"user:{principal.user.id}")

    return Depends(limit)
