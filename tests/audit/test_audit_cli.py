"""`recon audit verify`: exit 0 when intact, 1 naming the first broken event, 2 when it cannot read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from recon.audit.service import record_event
from recon.cli import platform_cmds
from recon.config import get_settings
from recon.core.db import SessionFactory, session_scope
from recon.models import Project

runner = CliRunner()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[typer.Typer]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    app = typer.Typer()
    platform_cmds.register(app)
    yield app
    get_settings.cache_clear()


def _record(session_factory: SessionFactory, project_id: str | None, n: int) -> list[str]:
    with session_scope(session_factory) as s:
        return [
            record_event(
                s,
                action="thing.changed",
                actor_id=None,
                project_id=project_id,
                entity_type="thing",
                entity_id=str(i),
            ).id
            for i in range(n)
        ]


def test_verify_intact_then_broken(
    cli: typer.Typer,
    db_engine: Engine,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
) -> None:
    project = make_project()
    ids = _record(session_factory, project.id, 3)
    _record(session_factory, None, 2)

    result = runner.invoke(cli, ["audit", "verify", "--heads"])
    assert result.exit_code == 0, result.output
    assert "intact: 5 events in 2 chain(s)" in result.output
    assert f"head {project.id} seq=3" in result.output

    with db_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))
        conn.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[1]})

    result = runner.invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"first broken event {ids[2]}" in result.output
    assert "missing (deleted)" in result.output
    assert runner.invoke(cli, ["audit", "verify", "--chain", "system"]).exit_code == 0


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_verify_unmigrated_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_backend: str) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    app = typer.Typer()
    platform_cmds.register(app)
    result = runner.invoke(app, ["audit", "verify"])
    get_settings.cache_clear()
    assert result.exit_code == 2
    assert "recon db upgrade" in result.output
