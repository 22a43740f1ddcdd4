"""Rate limits on auth and write endpoints, in memory and in Redis (shared by every app instance)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import ValidationError

from recon.app import create_app
from recon.config import Settings
from recon.core.errors import TooManyRequests
from recon.core.ratelimit import RateLimiter
from recon.models import User
from shared_values import TEST_PASSWORD

pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)

LOGIN = "/api/v1/auth/login"
Headers = Callable[[User | str], dict[str, str]]


def login_status(client: TestClient, email: str) -> int:
    return client.post(LOGIN, json={"email": email, "password": "wrong-password"}).status_code


@pytest.fixture(params=["memory", "redis"])
def limited_settings(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings]
) -> Callable[..., Settings]:
    """Settings with rate limits on, in memory or (second run) in the test Redis under a per-test prefix."""
    storage: dict[str, object] = {}
    if request.param == "redis":
        storage = {
            "redis_url": request.getfixturevalue("redis_url"),
            "redis_key_prefix": request.getfixturevalue("redis_prefix"),
        }

    def make(**overrides: object) -> Settings:
        return make_settings(rate_limit_enabled=True, login_max_failures=100, **storage, **overrides)

    return make


def test_login_is_limited_per_ip_and_email(limited_settings: Callable[..., Settings]) -> None:
    with TestClient(create_app(limited_settings(rate_limit_auth="3/minute"))) as client:
        assert [login_status(client, "a@example.com") for _ in range(3)] == [401, 401, 401]
        limited = client.post(LOGIN, json={"email": "A@example.com", "password": TEST_PASSWORD})
        assert limited.status_code == 429
        assert limited.json()["type"] == "https://recon.dev/problems/rate-limited"
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert login_status(client, "b@example.com") == 401  # another account from the same IP: own budget


def test_auth_endpoints_are_limited_per_ip(limited_settings: Callable[..., Settings]) -> None:
    with TestClient(create_app(limited_settings(rate_limit_auth_ip="4/minute"))) as client:
        statuses = [login_status(client, f"user{i}@example.com") for i in range(3)]
        statuses.append(client.post("/api/v1/auth/refresh", json={"refresh_token": "rt_x"}).status_code)
        assert statuses == [401, 401, 401, 401]
        assert client.post("/api/v1/auth/logout", json={"refresh_token": "rt_x"}).status_code == 429


def test_write_endpoints_are_limited_per_user(
    limited_settings: Callable[..., Settings], make_user: Callable[..., User], auth_headers: Headers
) -> None:
    alice, bob = make_user(), make_user()
    with TestClient(create_app(limited_settings(rate_limit_write="2/minute"))) as client:
        create = "/api/v1/auth/api-keys"
        statuses = [
            client.post(create, json={"name": "k"}, headers=auth_headers(alice)).status_code for _ in range(3)
        ]
        assert statuses == [201, 201, 429]
        assert client.post(create, json={"name": "k"}, headers=auth_headers(bob)).status_code == 201
        assert client.get(create, headers=auth_headers(alice)).status_code == 200  # reads are not writes


def test_disabled_limits_do_not_count(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(rate_limit_enabled=False, rate_limit_auth="1/minute", login_max_failures=100)
    with TestClient(create_app(settings)) as client:
        assert [login_status(client, "a@example.com") for _ in range(3)] == [401, 401, 401]


def test_redis_limits_are_shared_by_replicas(
    make_settings: Callable[..., Settings], redis_url: str, redis_prefix: str
) -> None:
    settings = make_settings(
        rate_limit_enabled=True,
        rate_limit_auth="3/minute",
        redis_url=redis_url,
        redis_key_prefix=redis_prefix,
    )
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        statuses = [login_status(client, "shared@example.com") for client in (one, two, one, two)]
    assert statuses == [401, 401, 401, 429]
    client = redis.Redis.from_url(redis_url)
    try:
        keys = [k.decode() for k in client.scan_iter(match=f"{redis_prefix}*")]
    finally:
        client.close()
    assert keys and all(k.startswith(f"{redis_prefix}ratelimit") for k in keys)
    assert not any("shared@example.com" in k for k in keys)  # identifiers are hashed


def test_unreachable_redis_fails_open(
    make_settings: Callable[..., Settings], make_user: Callable[..., User]
) -> None:
    user = make_user()
    settings = make_settings(rate_limit_enabled=True, redis_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(settings)) as client:
        response = client.post(LOGIN, json={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 200, response.text


def test_rate_limiter_unit(make_settings: Callable[..., Settings]) -> None:
    limiter = RateLimiter(make_settings(rate_limit_enabled=True))
    limiter.hit("unit", "2/hour", "k")
    limiter.hit("unit", "2/hour", "k")
    with pytest.raises(TooManyRequests) as caught:
        limiter.hit("unit", "2/hour", "k")
    assert 1 <= int(caught.value.headers["Retry-After"]) <= 3600
    limiter.hit("unit", "2/hour", "other-key")  # separate budget


def test_bad_limit_strings_are_refused_at_startup(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ValidationError, match="rate_limit_write"):
        make_settings(rate_limit_write="lots")
