"""API keys: shown once, stored hashed, sent as Bearer or X-API-Key, project-restricted, revocable."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select, update

from recon.core.db import SessionFactory, session_scope
from recon.core.time import utcnow
from recon.models import Project, User
from recon.models.audit import AuditEvent
from recon.models.auth import ApiKey

KEYS = "/api/v1/auth/api-keys"
Headers = Callable[[User | str], dict[str, str]]


def create_key(client: TestClient, headers: dict[str, str], **body: Any) -> Response:
    return client.post(KEYS, json={"name": "ci", **body}, headers=headers)


def test_create_use_and_list(
    client: TestClient,
    make_user: Callable[..., User],
    auth_headers: Headers,
    session_factory: SessionFactory,
) -> None:
    user = make_user()
    created = create_key(client, auth_headers(user), name="nightly import")
    assert created.status_code == 201, created.text
    body = created.json()
    raw = body["key"]
    assert (
        raw.startswith(body["prefix"] + "_")
        and body["prefix"].startswith("rk_")
        and len(body["prefix"]) == 11
    )
    assert body["name"] == "nightly import" and body["revoked_at"] is None and body["last_used_at"] is None

    for headers in ({"Authorization": f"Bearer {raw}"}, {"X-API-Key": raw}):
        me = client.get("/api/v1/auth/me", headers=headers)
        assert me.status_code == 200, me.text
        assert me.json()["user"]["id"] == user.id
        assert me.json()["auth"] == {"method": "api_key", "api_key_id": body["id"], "project_id": None}

    listed = client.get(KEYS, headers=auth_headers(user)).json()
    assert [k["id"] for k in listed["items"]] == [body["id"]]
    assert "key" not in listed["items"][0]  # shown once, at creation only
    assert listed["items"][0]["last_used_at"] is not None

    with session_factory() as session:
        stored = session.get(ApiKey, body["id"])
        assert stored is not None
        secret = raw.split("_", 2)[2]
        assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in (stored.secret_hash, stored.prefix, stored.name)
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == body["id"])))
    assert actions == ["apikey.created"]


def test_list_is_own_keys_newest_first_and_paginated(
    client: TestClient, make_user: Callable[..., User], auth_headers: Headers
) -> None:
    user, other = make_user(), make_user()
    ids = [create_key(client, auth_headers(user), name=f"k{i}").json()["id"] for i in range(3)]
    create_key(client, auth_headers(other))
    first = client.get(KEYS, params={"limit": 2}, headers=auth_headers(user)).json()
    rest = client.get(
        KEYS, params={"limit": 2, "cursor": first["next_cursor"]}, headers=auth_headers(user)
    ).json()
    assert [k["id"] for k in first["items"] + rest["items"]] == ids[::-1]
    assert rest["next_cursor"] is None


def test_revoke(
    client: TestClient, make_user: Callable[..., User], auth_headers: Headers, session_factory: SessionFactory
) -> None:
    user, stranger = make_user(), make_user()
    body = create_key(client, auth_headers(user)).json()
    assert client.delete(f"{KEYS}/{body['id']}", headers=auth_headers(stranger)).status_code == 404
    assert client.get("/api/v1/auth/me", headers={"X-API-Key": body["key"]}).status_code == 200

    assert client.delete(f"{KEYS}/{body['id']}", headers=auth_headers(user)).status_code == 204
    refused = client.get("/api/v1/auth/me", headers={"X-API-Key": body["key"]})
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert client.delete(f"{KEYS}/{body['id']}", headers=auth_headers(user)).status_code == 204  # idempotent
    (listed,) = client.get(KEYS, headers=auth_headers(user)).json()["items"]
    assert listed["revoked_at"] is not None
    with session_factory() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == body["id"])))
    assert sorted(actions) == ["apikey.created", "apikey.revoked"]


def test_project_restricted_key(
    client: TestClient,
    make_user: Callable[..., User],
    make_project: Callable[..., Project],
    auth_headers: Headers,
) -> None:
    user = make_user()
    allowed, other = make_project(owner=user), make_project(owner=user)
    foreign = make_project()  # the user is no member

    assert create_key(client, auth_headers(user), project_id=foreign.id).status_code == 404
    body = create_key(client, auth_headers(user), project_id=allowed.id).json()
    assert body["project_id"] == allowed.id
    headers = {"X-API-Key": body["key"]}
    assert client.get(f"/api/v1/projects/{allowed.id}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/projects/{other.id}", headers=headers).status_code == 404
    me = client.get("/api/v1/auth/me", headers=headers).json()
    assert [m["project_id"] for m in me["memberships"]] == [allowed.id]
    assert me["auth"]["project_id"] == allowed.id


def test_bad_keys_are_401(
    client: TestClient, make_user: Callable[..., User], auth_headers: Headers, session_factory: SessionFactory
) -> None:
    user = make_user()
    raw = create_key(client, auth_headers(user)).json()["key"]
    wrong_secret = raw[:-4] + ("aaaa" if not raw.endswith("aaaa") else "bbbb")
    for key in ("rk_nonsense", "rk_00000000_" + "a" * 43, wrong_secret, "x" * 60):
        response = client.get("/api/v1/auth/me", headers={"X-API-Key": key})
        assert response.status_code == 401, key
        assert response.headers["content-type"] == "application/problem+json"

    with session_scope(session_factory) as session:
        session.execute(update(ApiKey).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    expired = client.get("/api/v1/auth/me", headers={"X-API-Key": raw})
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]


def test_expiry_must_be_future_and_zoned(
    client: TestClient, make_user: Callable[..., User], auth_headers: Headers
) -> None:
    headers = auth_headers(make_user())
    past = create_key(client, headers, expires_at="2000-01-01T00:00:00Z")
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "body.expires_at"
    assert create_key(client, headers, expires_at="2999-01-01T00:00:00").status_code == 422
    ok = create_key(client, headers, expires_at="2999-01-01T00:00:00+02:00")
    assert ok.status_code == 201 and ok.json()["expires_at"].startswith("2998-12-31T22:00:00")


def test_keys_cannot_manage_keys(
    client: TestClient, make_user: Callable[..., User], auth_headers: Headers
) -> None:
    user = make_user()
    body = create_key(client, auth_headers(user)).json()
    headers = {"X-API-Key": body["key"]}
    assert create_key(client, headers).status_code == 403
    assert client.get(KEYS, headers=headers).status_code == 403
    assert client.delete(f"{KEYS}/{body['id']}", headers=headers).status_code == 403


def test_disabled_user_keys_stop_working(
    client: TestClient, make_user: Callable[..., User], auth_headers: Headers, session_factory: SessionFactory
) -> None:
    user = make_user()
    raw = create_key(client, auth_headers(user)).json()["key"]
    with session_scope(session_factory) as session:
        session.execute(update(User).where(User.id == user.id).values(is_active=False))
    assert client.get("/api/v1/auth/me", headers={"X-API-Key": raw}).status_code == 401
