"""Login, lockout, refresh rotation with reuse detection, logout, /auth/me, admin bootstrap -> login."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select, update

from recon.app import create_app
from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.core.time import utcnow
from recon.models import LoginThrottle, Project, User
from recon.models.audit import AuditEvent
from recon.models.auth import AuthSession, RefreshToken
from shared_values import TEST_PASSWORD

LOGIN = "/api/v1/auth/login"
PROBLEMS = "https://recon.dev/problems/"


def login(client: TestClient, email: str, password: str = TEST_PASSWORD, **extra: Any) -> Response:
    return client.post(LOGIN, json={"email": email, "password": password, **extra})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def audit_actions(factory: SessionFactory, action_prefix: str = "auth.") -> list[tuple[str, dict[str, Any]]]:
    with factory() as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.data)
            .where(AuditEvent.action.startswith(action_prefix))
            .order_by(AuditEvent.occurred_at, AuditEvent.seq)
        ).all()
    return [(action, data) for action, data in rows]


def test_login_returns_working_tokens_and_me(
    client: TestClient,
    make_user: Callable[..., User],
    make_project: Callable[..., Project],
    session_factory: SessionFactory,
) -> None:
    project = make_project()
    user = make_user(role="approver", project=project, email="Ann@Example.com", full_name="Ann")
    make_project()  # a project of another tenant must not show up

    response = login(client, "  ANN@example.com ")  # emails are case- and space-insensitive
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    assert tokens["refresh_token"].startswith("rt_")

    me = client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["user"]["id"] == user.id
    assert body["user"]["email"] == "ann@example.com"
    assert body["user"]["totp_enabled"] is False
    assert body["user"]["last_login_at"] is not None
    assert body["org"]["id"] == project.org_id
    assert body["memberships"] == [
        {"project_id": project.id, "project_name": project.name, "role": "approver"}
    ]
    assert body["auth"] == {"method": "jwt", "api_key_id": None, "project_id": None}

    events = audit_actions(session_factory)
    assert [a for a, _ in events] == ["auth.login"]
    assert events[0][1]["method"] == "password"


def test_wrong_password_and_unknown_email_answer_alike(
    client: TestClient, make_user: Callable[..., User], session_factory: SessionFactory
) -> None:
    user = make_user()
    wrong = login(client, user.email, "not-the-password")
    unknown = login(client, "nobody@example.com", "not-the-password")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == PROBLEMS + "invalid-credentials"
        assert response.json()["detail"] == "invalid email or password"
    reasons = [
        data["reason"] for action, data in audit_actions(session_factory) if action == "auth.login_failed"
    ]
    assert reasons == ["bad_password", "unknown_email"]
    with session_factory() as session:
        stored = session.get(User, user.id)
        assert stored is not None and stored.failed_logins == 1


def test_disabled_user_cannot_log_in_nor_use_old_tokens(
    client: TestClient, make_user: Callable[..., User], session_factory: SessionFactory
) -> None:
    user = make_user()
    tokens = login(client, user.email).json()
    with session_scope(session_factory) as session:
        session.execute(update(User).where(User.id == user.id).values(is_active=False))
    assert login(client, user.email).status_code == 401
    assert client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"])).status_code == 401
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401


def test_lockout_after_consecutive_failures(
    make_settings: Callable[..., Settings], make_user: Callable[..., User], session_factory: SessionFactory
) -> None:
    settings = make_settings(login_max_failures=3, login_lockout_s=600)
    user = make_user()
    with TestClient(create_app(settings)) as client:
        for _ in range(2):
            assert login(client, user.email, "wrong-password").status_code == 401
        assert login(client, user.email).status_code == 200  # success resets the count
        for _ in range(3):
            assert login(client, user.email, "wrong-password").status_code == 401

        locked = login(client, user.email)  # even the right password is refused while locked
        assert locked.status_code == 429
        assert locked.json()["type"] == PROBLEMS + "account-locked"
        assert 1 <= int(locked.headers["Retry-After"]) <= 600

        with session_scope(session_factory) as session:  # the lock has run out
            past = utcnow() - dt.timedelta(seconds=601)
            session.execute(update(LoginThrottle).values(blocked_until=past, window_started_at=past))
        assert login(client, user.email).status_code == 200

    with session_factory() as session:
        stored = session.get(User, user.id)
        assert stored is not None and stored.failed_logins == 0 and stored.locked_until is None
    failures = [d for a, d in audit_actions(session_factory) if a == "auth.login_failed"]
    assert [d["reason"] for d in failures] == ["bad_password"] * 5 + ["locked"]
    assert failures[4]["consecutive_failures"] == 3


def test_unknown_emails_lock_out_the_same_way(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(login_max_failures=2, login_lockout_s=600)
    with TestClient(create_app(settings)) as client:
        for _ in range(2):
            assert login(client, "ghost@example.com", "whatever-password").status_code == 401
        locked = login(client, "ghost@example.com", "whatever-password")
        assert locked.status_code == 429
        assert locked.json()["type"] == PROBLEMS + "account-locked"
        assert int(locked.headers["Retry-After"]) >= 1
        assert login(client, "other-ghost@example.com", "whatever-password").status_code == 401


def test_login_validation_is_a_422_problem(client: TestClient) -> None:
    response = client.post(LOGIN, json={"email": "a@example.com", "password": "x" * 2000})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.password"
    assert client.post(LOGIN, json={"email": "a@example.com"}).status_code == 422


# -- refresh and logout --------------------------------------------------------------------------------
def refresh(client: TestClient, token: str) -> Response:
    return client.post("/api/v1/auth/refresh", json={"refresh_token": token})


def test_refresh_rotates_and_reuse_revokes_the_family(
    client: TestClient, make_user: Callable[..., User], session_factory: SessionFactory
) -> None:
    user = make_user()
    first = login(client, user.email).json()
    second = refresh(client, first["refresh_token"])
    assert second.status_code == 200, second.text
    second_tokens = second.json()
    assert second_tokens["refresh_token"] != first["refresh_token"]
    assert client.get("/api/v1/auth/me", headers=bearer(second_tokens["access_token"])).status_code == 200

    reused = refresh(client, first["refresh_token"])  # a copy of a spent token: theft
    assert reused.status_code == 401
    assert reused.json()["type"] == PROBLEMS + "invalid-refresh-token"
    assert "already used" in reused.json()["detail"]
    # the whole family is gone: the legitimate newer token and the access tokens of the session
    assert refresh(client, second_tokens["refresh_token"]).status_code == 401
    assert client.get("/api/v1/auth/me", headers=bearer(second_tokens["access_token"])).status_code == 401

    with session_factory() as session:
        (auth_session,) = session.scalars(select(AuthSession).where(AuthSession.user_id == user.id))
        assert auth_session.revoked_reason == "reuse"
        stored = list(session.scalars(select(RefreshToken.token_hash)))
    assert first["refresh_token"] not in stored and len(stored) == 2  # only digests are stored
    assert "auth.refresh_reuse" in [a for a, _ in audit_actions(session_factory)]

    # another login is a new, independent family
    assert refresh(client, login(client, user.email).json()["refresh_token"]).status_code == 200


def test_concurrent_refresh_with_one_token_lets_exactly_one_win(
    client: TestClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    token = login(client, user.email).json()["refresh_token"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(lambda _: refresh(client, token).status_code, range(2)))
    # the loser presented a spent token: reuse, so the winner's session is revoked too
    assert statuses == [200, 401]


def test_expired_and_unknown_refresh_tokens(
    client: TestClient, make_user: Callable[..., User], session_factory: SessionFactory
) -> None:
    user = make_user()
    token = login(client, user.email).json()["refresh_token"]
    with session_scope(session_factory) as session:
        session.execute(update(RefreshToken).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    expired = refresh(client, token)
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    assert refresh(client, "rt_not-a-token").status_code == 401


def test_logout_ends_refresh_and_access_tokens(
    client: TestClient, make_user: Callable[..., User], session_factory: SessionFactory
) -> None:
    user = make_user()
    tokens = login(client, user.email).json()
    other_device = login(client, user.email).json()

    out = client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 204
    assert refresh(client, tokens["refresh_token"]).status_code == 401
    gone = client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert gone.status_code == 401 and "session has ended" in gone.json()["detail"]
    # only that session: the other device stays logged in
    assert client.get("/api/v1/auth/me", headers=bearer(other_device["access_token"])).status_code == 200

    again = client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 204
    assert client.post("/api/v1/auth/logout", json={"refresh_token": "rt_unknown"}).status_code == 204
    assert [a for a, _ in audit_actions(session_factory)].count("auth.logout") == 1


def test_tampered_or_foreign_access_tokens_are_rejected(
    client: TestClient, make_user: Callable[..., User], make_settings: Callable[..., Settings]
) -> None:
    from recon.auth.security import create_access_token

    user = make_user()
    token = login(client, user.email).json()["access_token"]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get("/api/v1/auth/me", headers=bearer(tampered)).status_code == 401
    foreign = create_access_token(make_settings(jwt_secret="another-secret-that-is-long-enough-000"), user.id)
    assert client.get("/api/v1/auth/me", headers=bearer(foreign)).status_code == 401
    assert client.get("/api/v1/auth/me").status_code == 401


# -- first administrator --------------------------------------------------------------------------------
@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_bootstrapped_admin_can_log_in(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        recon_admin_email="Root@Example.com", recon_admin_password="bootstrap-password-1"
    )
    with TestClient(create_app(settings)) as client:
        response = login(client, "root@example.com", "bootstrap-password-1")
        assert response.status_code == 200, response.text
        me = client.get("/api/v1/auth/me", headers=bearer(response.json()["access_token"])).json()
        assert me["user"]["is_superuser"] is True
        assert me["org"]["name"] == "Default"
