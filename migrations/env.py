"""Alembic environment. The URL comes from `recon.config` (DATABASE_URL) unless the caller passes a
connection in `config.attributes["connection"]` (tests, `recon db upgrade`)."""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from sqlalchemy import Connection

import recon.models  # noqa: F401 - registers every model on Base.metadata
from recon.models.base import Base
from recon.runs.partitions import is_run_partition

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render our portable column types (recon.models.types) by name, with their import."""
    if type_ == "type" and type(obj).__name__ == "EnumText":
        return f"sa.String(length={obj.impl.length})"  # stored as its text value: the DDL of a plain String
    if type_ == "type" and type(obj).__module__ == "recon.models.types":
        autogen_context.imports.add("import recon.models.types")
        return f"recon.models.types.{type(obj).__name__}()"
    return False


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Per-run partitions of the results tables are data, not schema (recon.runs.partitions)."""
    return not (type_ == "table" and name is not None and is_run_partition(name))


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=True,
        include_name=include_name,
    )


def run_migrations_offline() -> None:
    from recon.config import get_settings
    from recon.core.db import normalize_database_url

    context.configure(
        url=normalize_database_url(config.get_main_option("sqlalchemy.url") or get_settings().database_url),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from recon.config import get_settings
    from recon.core.db import create_db_engine

    settings = get_settings()
    url = config.get_main_option("sqlalchemy.url")
    if url:
        settings = settings.model_copy(update={"database_url": url})
    engine = create_db_engine(settings)
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
