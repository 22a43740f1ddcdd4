"""Dump, restore and fingerprint the database: pg_dump/pg_restore for PostgreSQL, the online backup API for
SQLite, and per-table row counts with a content checksum that a restore must reproduce."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import make_url

from recon.backup.manifest import TableStats

CHUNK = 1024 * 1024


class BackupError(RuntimeError):
    """A backup or restore step failed; the message says which and why."""


def user_tables(connection: Connection) -> list[str]:
    """Every table but SQLite's own and PostgreSQL's partitions (the per-run results, docs/adr/0038): their
    rows are counted and hashed once, in their parent's figures."""
    names = set(inspect(connection).get_table_names())
    if connection.dialect.name == "postgresql":
        names -= set(connection.execute(text("SELECT relname FROM pg_class WHERE relispartition")).scalars())
    return sorted(name for name in names if not name.startswith("sqlite_"))


def _order_by(connection: Connection, table: str) -> list[str]:
    inspector = inspect(connection)
    columns = inspector.get_pk_constraint(table).get("constrained_columns") or []
    return columns or [column["name"] for column in inspector.get_columns(table)]


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def table_stats(connection: Connection) -> dict[str, TableStats]:
    """Row count and checksum of every table, read in the connection's current transaction.

    PostgreSQL hashes each row's text form server-side (md5 of the ordered row hashes); SQLite hashes the
    rows' values as JSON in primary-key order. Both are stable across a dump and restore on the same backend.
    """
    stats: dict[str, TableStats] = {}
    for table in user_tables(connection):
        order = ", ".join(_quote(connection, column) for column in _order_by(connection, table))
        name = _quote(connection, table)
        if connection.dialect.name == "postgresql":
            rows, checksum = connection.execute(
                text(
                    f"SELECT count(*), md5(coalesce(string_agg(md5(t::text), ',' ORDER BY {order}), '')) "
                    f"FROM {name} AS t"
                )
            ).one()
            stats[table] = TableStats(rows=int(rows), checksum=str(checksum))
        else:
            digest = hashlib.sha256()
            count = 0
            result = connection.execute(text(f"SELECT * FROM {name} ORDER BY {order}"))
            for row in result:
                digest.update(json.dumps(list(row), default=repr, separators=(",", ":")).encode())
                digest.update(b"\n")
                count += 1
            stats[table] = TableStats(rows=count, checksum=digest.hexdigest())
    return stats


def alembic_revisions(connection: Connection) -> list[str]:
    if "alembic_version" not in user_tables(connection):
        return []
    return sorted(
        str(rev) for rev in connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
    )


# -- PostgreSQL --------------------------------------------------------------------------------------------
def _pg_env(url: str) -> dict[str, str]:
    """libpq environment for the client programs: the password never appears on a command line."""
    parsed = make_url(url)
    env = dict(os.environ)
    for key, value in (
        ("PGHOST", parsed.host),
        ("PGPORT", str(parsed.port) if parsed.port else None),
        ("PGUSER", parsed.username),
        ("PGPASSWORD", parsed.password),
        ("PGDATABASE", parsed.database),
        ("PGSSLMODE", parsed.query.get("sslmode")),
    ):
        if value:
            env[key] = str(value)
    return env


def _program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} not found on PATH (PostgreSQL client programs are needed for backups)")
    return path


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


@contextmanager
def pg_snapshot(engine: Engine) -> Iterator[tuple[Connection, str]]:
    """A repeatable-read transaction whose snapshot pg_dump can share (`--snapshot`)."""
    with engine.connect() as plain:
        connection = plain.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = str(connection.execute(text("SELECT pg_export_snapshot()")).scalar_one())
            yield connection, snapshot


def pg_dump(url: str, snapshot: str, path: Path) -> None:
    args = [
        _program("pg_dump"),
        "--format=custom",
        "--compress=6",
        "--no-owner",
        "--no-privileges",
        f"--snapshot={snapshot}",
        f"--file={path}",
    ]
    _run(args, _pg_env(url), "pg_dump")


def pg_restore(url: str, path: Path) -> None:
    args = [
        _program("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        "--dbname",
        make_url(url).database or "",
        str(path),
    ]
    _run(args, _pg_env(url), "pg_restore")


# -- SQLite ------------------------------------------------------------------------------------------------
def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(f"not a SQLite file database: {url}")
    return Path(database)


def sqlite_backup(url: str, copy: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API; writers may keep writing)."""
    source = sqlite3.connect(f"file:{sqlite_path(url)}?mode=ro", uri=True)
    target = sqlite3.connect(copy)
    try:
        with target:
            source.backup(target)
    finally:
        target.close()
        source.close()


def gzip_file(source: Path, target: Path) -> None:
    with source.open("rb") as raw, gzip.open(target, "wb", compresslevel=6) as packed:
        shutil.copyfileobj(raw, packed, CHUNK)


def gunzip_file(source: Path, target: Path) -> None:
    with gzip.open(source, "rb") as packed, target.open("wb") as raw:
        shutil.copyfileobj(packed, raw, CHUNK)


def is_empty(engine: Engine) -> bool:
    with engine.connect() as connection:
        return not user_tables(connection)


def describe(url: str) -> dict[str, Any]:
    """The database without its password (for messages)."""
    parsed = make_url(url)
    return {"backend": parsed.get_backend_name(), "host": parsed.host, "database": parsed.database}
