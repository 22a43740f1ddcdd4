"""TOTP: setup is inert until enabled with a valid code; then login (and disable) need a fresh code."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from recon.auth.totp import matching_step
from recon.core.db import SessionFactory
from recon.core.time import utcnow
from recon.models import User
from recon.models.audit import AuditEvent
from shared_values import TEST_PASSWORD

PROBLEMS = "https://recon.dev/problems/"
Headers = Callable[[User | str], dict[str, str]]


def code_at(secret: str, steps_ahead: int = 0) -> str:
    """The code of the current 30 s step (or a later one: the server accepts one step of drift)."""
    return pyotp.TOTP(secret).at(utcnow() + dt.timedelta(seconds=30 * steps_ahead))


def login(client: TestClient, email: str, **extra: Any) -> Any:
    return client.post("/api/v1/auth/login", json={"email": email, "password": TEST_PASSWORD, **extra})


def enable(client: TestClient, headers: dict[str, str]) -> tuple[str, str]:
    """Set up and enable TOTP: (secret, the code that enabled it)."""
    setup = client.post("/api/v1/auth/totp/setup", headers=headers)
    assert setup.status_code == 200, setup.text
    secret = str(setup.json()["secret"])
    code = code_at(secret)
    enabled = client.post("/api/v1/auth/totp/enable", json={"code": code}, headers=headers)
    assert enabled.status_code == 200, enabled.text
    return secret, code


def test_setup_is_inert_until_enabled(
    client: TestClient, make_user: Callable[..., User], auth_headers: Headers
) -> None:
    user = make_user(email="totp@example.com")
    setup = client.post("/api/v1/auth/totp/setup", headers=auth_headers(user))
    assert setup.status_code == 200
    body = setup.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/") and "totp%40example.com" in body["otpauth_uri"]
    assert pyotp.parse_uri(body["otpauth_uri"]).secret == body["secret"]
    assert login(client, user.email).status_code == 200  # not yet required

    wrong = client.post("/api/v1/auth/totp/enable", json={"code": "000000"}, headers=auth_headers(user))
    if wrong.status_code != 200:  # 000000 is (rarely) the real code
        assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "body.code"
    malformed = client.post("/api/v1/auth/totp/enable", json={"code": "12ab56"}, headers=auth_headers(user))
    assert malformed.status_code == 422


def test_login_requires_a_fresh_code_once_enabled(
    client: TestClient, make_user: Callable[..., User], auth_headers: Headers, session_factory: SessionFactory
) -> None:
    user = make_user()
    secret, enabling_code = enable(client, auth_headers(user))
    me = client.get("/api/v1/auth/me", headers=auth_headers(user)).json()
    assert me["user"]["totp_enabled"] is True

    missing = login(client, user.email)
    assert missing.status_code == 401
    assert missing.json()["type"] == PROBLEMS + "totp-required"

    # the enabling code's step is spent; the next step's code (within the drift window) is accepted once
    replayed = login(client, user.email, totp_code=enabling_code)
    assert replayed.status_code == 401 and replayed.json()["type"] == PROBLEMS + "invalid-totp"
    fresh = code_at(secret, steps_ahead=1)
    assert login(client, user.email, totp_code=fresh).status_code == 200
    assert login(client, user.email, totp_code=fresh).status_code == 401  # same code twice: refused

    with session_factory() as session:
        stored = session.get(User, user.id)
        # wrong codes count toward the lockout (the success in between reset the count)
        assert stored is not None and stored.failed_logins == 1
        events = session.execute(
            select(AuditEvent.action, AuditEvent.data).where(AuditEvent.actor_id == user.id)
        ).all()
    assert [a for a, _ in events if a.startswith("auth.totp")] == ["auth.totp_enabled"]
    failures = [d["reason"] for a, d in events if a == "auth.login_failed"]
    assert failures == ["bad_totp", "bad_totp"]


def test_setup_twice_conflicts_and_disable_needs_a_code(
    client: TestClient, make_user: Callable[..., User], auth_headers: Headers
) -> None:
    user = make_user()
    headers = auth_headers(user)
    secret, _ = enable(client, headers)
    assert client.post("/api/v1/auth/totp/setup", headers=headers).status_code == 409
    assert (
        client.post("/api/v1/auth/totp/enable", json={"code": "123456"}, headers=headers).status_code == 409
    )

    bad = "000000" if code_at(secret, 1) != "000000" else "111111"
    assert client.post("/api/v1/auth/totp/disable", json={"code": bad}, headers=headers).status_code == 422
    off = client.post("/api/v1/auth/totp/disable", json={"code": code_at(secret, 1)}, headers=headers)
    assert off.status_code == 200 and off.json() == {"enabled": False}
    assert login(client, user.email).status_code == 200  # no code needed any more
    assert (
        client.post("/api/v1/auth/totp/disable", json={"code": "123456"}, headers=headers).status_code == 409
    )


def test_enable_without_setup_conflicts(
    client: TestClient, make_user: Callable[..., User], auth_headers: Headers
) -> None:
    response = client.post(
        "/api/v1/auth/totp/enable", json={"code": "123456"}, headers=auth_headers(make_user())
    )
    assert response.status_code == 409


def test_api_keys_cannot_touch_totp(
    client: TestClient, make_user: Callable[..., User], auth_headers: Headers
) -> None:
    user = make_user()
    key = client.post("/api/v1/auth/api-keys", json={"name": "k"}, headers=auth_headers(user)).json()["key"]
    assert client.post("/api/v1/auth/totp/setup", headers={"X-API-Key": key}).status_code == 403


@pytest.mark.parametrize(
    ("offset_steps", "after", "accepted"),
    [
        (0, None, True),
        (-1, None, True),
        (1, None, True),
        (2, None, False),
        (-2, None, False),
        (0, "same", False),
    ],
)
def test_matching_step_window_and_replay(offset_steps: int, after: str | None, accepted: bool) -> None:
    secret = pyotp.random_base32()
    now = dt.datetime(2030, 1, 1, 12, 0, 10, tzinfo=dt.UTC)
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now) + offset_steps
    code = totp.generate_otp(step)
    after_step = step if after == "same" else None
    found = matching_step(secret, code, after_step=after_step, now=now)
    assert (found == step) is accepted
