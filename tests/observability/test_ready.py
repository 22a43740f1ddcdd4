"""Readiness is real: migrations behind the code's head, Redis down or up again, database unreachable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient

from recon.app import create_app
from recon.config import Settings
from recon.core.migrations import alembic_config, head_revisions, upgrade_head

sqlite_only = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


@sqlite_only
def test_a_database_behind_the_head_is_not_ready_until_upgraded(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'behind.db'}")
    command.upgrade(alembic_config(settings), "0001")  # the first migration only
    (head,) = head_revisions(settings)
    assert head != "0001"
    with TestClient(create_app(settings)) as client:
        response = client.get("/ready")
        assert response.status_code == 503
        body = response.json()
        assert body["checks"]["database"] == "ok"
        assert body["checks"]["migrations"] == f"at ['0001'], expected ['{head}']"
        assert "migrations" in body["detail"]
        upgrade_head(settings)
        assert client.get("/ready").status_code == 200


@sqlite_only
def test_redis_going_down_makes_the_instance_unready(
    make_settings: Callable[..., Settings], redis_url: str, redis_prefix: str
) -> None:
    app = create_app(make_settings(redis_url=redis_url, redis_key_prefix=redis_prefix))
    with TestClient(app) as client:
        assert client.get("/ready").json()["checks"]["redis"] == "ok"
        app.state.settings = app.state.settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
        down = client.get("/ready")
        assert down.status_code == 503
        assert down.json()["checks"] == {"database": "ok", "migrations": "ok", "redis": "unreachable"}
        assert down.json()["detail"] == "redis: unreachable"
        assert client.get("/health").status_code == 200  # liveness never depends on Redis


def test_ready_on_both_backends(client: TestClient) -> None:
    response = client.get("/api/v1/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "redis": "not configured"},
    }
