"""`recon db upgrade`, `recon users create-admin` and the RECON_ADMIN_* first-run bootstrap."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from recon.app import create_app
from recon.auth.security import verify_password
from recon.cli import platform_cmds
from recon.config import Settings, get_settings
from recon.core.db import SessionFactory, create_db_engine, create_session_factory
from recon.models import Organization, User

runner = CliRunner()


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    platform_cmds.register(app)
    return app


@pytest.fixture
def env_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _users(url: str) -> list[User]:
    engine = create_db_engine(Settings(_env_file=None, database_url=url))
    factory: SessionFactory = create_session_factory(engine)
    with factory() as session:
        users = list(session.scalars(select(User)))
    engine.dispose()
    return users


def test_db_upgrade_then_create_admin(cli: typer.Typer, env_db: str) -> None:
    upgraded = runner.invoke(cli, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert "(head)" in upgraded.output

    args = ["users", "create-admin", "--email", "Boss@Example.com", "--password", "a-long-enough-secret"]
    created = runner.invoke(cli, [*args, "--org", "Acme"])
    assert created.exit_code == 0, created.output
    (user,) = _users(env_db)
    assert user.email == "boss@example.com" and user.is_superuser
    assert verify_password(user.password_hash, "a-long-enough-secret")

    again = runner.invoke(cli, args)
    assert again.exit_code == 1
    assert "already exists; nothing changed" in again.output

    weak = runner.invoke(cli, ["users", "create-admin", "--email", "x@example.com", "--password", "short"])
    assert weak.exit_code == 2
    assert "at least 12 characters" in weak.output


def test_cli_refuses_insecure_production(
    cli: typer.Typer, env_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    get_settings.cache_clear()
    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 2
    assert "JWT_SECRET" in result.output and "DATABASE_URL" in result.output


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_first_run_bootstrap_creates_admin_once(
    make_settings: Callable[..., Settings], session_factory: SessionFactory
) -> None:
    settings = make_settings(
        recon_admin_email="root@example.com", recon_admin_password="bootstrap-password-1"
    )
    for _ in range(2):  # restart: idempotent
        with TestClient(create_app(settings)) as client:
            assert client.get("/ready").status_code == 200
    with session_factory() as session:
        users = list(session.scalars(select(User)))
        orgs = list(session.scalars(select(Organization)))
    assert [u.email for u in users] == ["root@example.com"]
    assert users[0].is_superuser
    assert [o.name for o in orgs] == ["Default"]
