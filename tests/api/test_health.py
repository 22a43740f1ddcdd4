"""Liveness, readiness and request ids."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from recon.app import create_app
from recon.config import Settings

sqlite_only = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


def test_health_is_ok_without_touching_the_database(client: TestClient) -> None:
    for path in ("/health", "/api/v1/health"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


def test_ready_when_migrated(client: TestClient) -> None:
    for path in ("/ready", "/api/v1/ready"):
        response = client.get(path)
        assert response.status_code == 200, response.text
        assert response.json()["checks"] == {"database": "ok", "migrations": "ok", "redis": "not configured"}


@sqlite_only
def test_ready_503_when_not_migrated(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    with TestClient(create_app(settings)) as client:
        response = client.get("/ready")
        health = client.get("/health")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "https://recon.dev/problems/not-ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"].startswith("at nothing")
    assert health.status_code == 200  # liveness does not depend on the database


@sqlite_only
def test_ready_503_when_database_unreachable(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(database_url="postgresql://postgres@127.0.0.1:1/nothing")
    with TestClient(create_app(settings)) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unreachable"


@sqlite_only
def test_ready_checks_redis(
    make_settings: Callable[..., Settings], redis_url: str, redis_prefix: str
) -> None:
    good = make_settings(redis_url=redis_url, redis_key_prefix=redis_prefix)
    with TestClient(create_app(good)) as client:
        assert client.get("/ready").json()["checks"]["redis"] == "ok"
    bad = make_settings(redis_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(bad)) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "unreachable"


def test_request_id_is_generated_and_echoed(client: TestClient) -> None:
    generated = client.get("/health").headers["X-Request-ID"]
    assert len(generated) == 32
    assert (
        client.get("/health", headers={"X-Request-ID": "abc-123.x:y"}).headers["X-Request-ID"]
        == "abc-123.x:y"
    )
    insane = client.get("/health", headers={"X-Request-ID": "bad id\twith spaces" + "x" * 200})
    assert insane.headers["X-Request-ID"] != "bad id\twith spaces" + "x" * 200
    assert len(insane.headers["X-Request-ID"]) == 32


@sqlite_only
def test_log_lines_are_json_with_request_and_trace_id(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    client.get("/api/v1/projects", headers={"X-Request-ID": "req-log-check"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("event") == "http_request"]
    assert access, lines
    assert access[-1]["request_id"] == "req-log-check"
    assert access[-1]["route"] == "/api/v1/projects"
    assert access[-1]["status"] == 401
    assert all("trace_id" in line and "request_id" in line for line in lines)
