"""Alembic, driven from code: upgrade to head, and where the database stands."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from recon.config import Settings


def alembic_config(settings: Settings, connection: Connection | None = None) -> Config:
    ini = settings.migrations_dir.parent / "alembic.ini"
    config = Config(str(ini)) if ini.exists() else Config()
    config.set_main_option("script_location", str(settings.migrations_dir))
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    config.attributes["configure_logging"] = False  # our structlog setup stays in charge
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_head(settings: Settings, engine: Engine | None = None) -> None:
    """Run every pending migration (in one transaction on PostgreSQL; SQLite DDL is not all transactional)."""
    if engine is None:
        command.upgrade(alembic_config(settings), "head")
        return
    with engine.begin() as conn:
        command.upgrade(alembic_config(settings, conn), "head")


def head_revisions(settings: Settings) -> set[str]:
    """The head revision(s) of the migration scripts. Reading them imports every script (~40 ms of CPU, more
    on a busy disk), which each app start did; the answer is kept per directory and its files' state."""
    directory = settings.migrations_dir
    versions = directory / "versions"
    state = (
        tuple(sorted((p.name, p.stat().st_mtime_ns) for p in versions.glob("*.py")))
        if versions.is_dir()
        else ()
    )
    return set(_heads(directory, state))


@lru_cache(maxsize=16)
def _heads(directory: Path, state: tuple[tuple[str, int], ...]) -> frozenset[str]:
    ini = directory.parent / "alembic.ini"  # as alembic_config reads it
    config = Config(str(ini)) if ini.exists() else Config()
    config.set_main_option("script_location", str(directory))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def current_revisions(connection: Connection) -> set[str]:
    """Revisions recorded in alembic_version (empty when the database was never migrated)."""
    if not inspect(connection).has_table("alembic_version"):
        return set()
    return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
