"""Alembic, driven from code: upgrade to head, and where the database stands."""

from __future__ import annotations

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
    return set(ScriptDirectory.from_config(alembic_config(settings)).get_heads())


def current_revisions(connection: Connection) -> set[str]:
    """Revisions recorded in alembic_version (empty when the database was never migrated)."""
    if not inspect(connection).has_table("alembic_version"):
        return set()
    return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
