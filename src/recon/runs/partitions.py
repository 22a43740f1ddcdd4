"""PostgreSQL: one partition per run of each results table (run_items, match_groups, matched_group_amounts
are partitioned by LIST (run_id); SQLite keeps plain tables). docs/adr/0038 (Update).

A run's partition is built in the persist's own transaction as a plain table: created, filled by COPY with
FREEZE, its keys and indexes built at once (the parent's definitions, so that ATTACH adopts them), a
`CHECK (run_id = '<id>')` that spares ATTACH its scan, then attached. ATTACH takes SHARE UPDATE EXCLUSIVE
on the parent (two runs' attaches queue; readers and review writes do not). A partition is never dropped
while attached: DROP would take ACCESS EXCLUSIVE on the parent and stop every reader of every run.
`drop_run_partitions` detaches CONCURRENTLY first (outside any transaction), then drops the detached table.
"""

from __future__ import annotations

import hashlib
import re
import uuid

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

# Items before groups: the order every path takes their locks in (no deadlock between two runs).
RESULT_TABLES = ("run_items", "matched_group_amounts", "match_groups")
_PARENT_DDL = re.compile(r" ON ONLY (?:public\.)?(\w+) USING ")
_PARTITION_NAME = re.compile(r"^(run_items|match_groups|matched_group_amounts)_[0-9a-f]{32}$")


def is_run_partition(name: str) -> bool:
    """A partition of a results table (not in the models: schema comparisons skip it)."""
    return _PARTITION_NAME.match(name) is not None


def partition_name(table: str, run_id: str) -> str:
    """`<table>_<run id without dashes>` for UUIDs (a DBA reads the run in it), else an md5 of the id."""
    try:
        suffix = uuid.UUID(run_id).hex if len(run_id) == 36 else ""
    except ValueError:
        suffix = ""
    return f"{table}_{suffix or hashlib.md5(run_id.encode(), usedforsecurity=False).hexdigest()}"


def run_literal(run_id: str) -> str:
    """The run id as an SQL string literal (DDL takes no parameters)."""
    return "'" + run_id.replace("'", "''") + "'"


def partition_exists(session: Session | Connection, table: str, run_id: str) -> bool:
    """Whether the run's partition of `table` exists (attached, or created in this transaction)."""
    found = session.execute(text("SELECT to_regclass(:name)"), {"name": partition_name(table, run_id)})
    return found.scalar() is not None


def create_partition(session: Session | Connection, table: str, run_id: str) -> str:
    """A plain table shaped like `table` (columns, collations, defaults, checks) holding only `run_id`'s
    rows, not yet attached: COPY ... FREEZE into it in the same transaction, then `build_partition` and
    `attach_partition`."""
    name = partition_name(table, run_id)
    session.execute(
        text(
            f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS,"
            f" CONSTRAINT {name}_run CHECK (run_id = {run_literal(run_id)}))"
        )
    )
    return name


def build_partition(session: Session | Connection, table: str, run_id: str, analyze: str | None) -> None:
    """Keys and indexes of the parent built on the filled partition (each in one sorted pass), and its
    statistics (`analyze`: the column list, or None for all)."""
    name = partition_name(table, run_id)
    # In this backend, without parallel workers: the persist keeps two backends busy already (the items' and
    # the groups' connections, ADR 0033), and the workers' CPU would escape the benches' per-backend figures.
    session.execute(text("SET LOCAL max_parallel_maintenance_workers = 0"))
    for statement in index_statements(session, table, name):
        session.execute(text(statement))
    session.execute(text(f"ANALYZE {name}{f' ({analyze})' if analyze else ''}"))


def attach_partition(session: Session | Connection, table: str, run_id: str) -> None:
    """ATTACH without a scan (the partition's CHECK implies the bound); the partition's indexes become the
    partitions of the parent's. Locks until the transaction ends: SHARE UPDATE EXCLUSIVE on the parent,
    SHARE ROW EXCLUSIVE on users (the assignee's foreign key is cloned onto the partition)."""
    name = partition_name(table, run_id)
    bound = run_literal(run_id)
    session.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES IN ({bound})"))


def index_statements(session: Session | Connection, table: str, name: str) -> list[str]:
    """The parent's primary and unique keys as constraints (ATTACH adopts an index for a key only when a
    constraint backs it), its other indexes as CREATE INDEX on the partition."""
    keys = session.execute(
        text(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = CAST(:t AS regclass) AND contype IN ('p', 'u') ORDER BY conname"
        ),
        {"t": table},
    ).scalars()
    statements = [
        f"ALTER TABLE {name} ADD CONSTRAINT {name}_k{n} {definition}" for n, definition in enumerate(keys)
    ]
    indexes = session.execute(
        text(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = CAST(:t AS regclass)"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
            " ORDER BY c.relname"
        ),
        {"t": table},
    ).scalars()
    for n, definition in enumerate(indexes):
        head, _, tail = definition.partition(" ON ONLY ")
        if not _PARENT_DDL.search(definition) or " INDEX " not in head:
            raise RuntimeError(f"unexpected index definition on {table}: {definition}")
        using = tail.partition(" USING ")[2]
        unique = "UNIQUE " if head.startswith("CREATE UNIQUE") else ""
        statements.append(f"CREATE {unique}INDEX {name}_i{n} ON {name} USING {using}")
    return statements


def ensure_run_partitions(session: Session, run_id: str) -> None:
    """PostgreSQL: empty partitions of every results table for `run_id` (those missing), attached, for rows
    written row by row (fixtures of tests and benches; a run's persist builds its own). SQLite: nothing."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in RESULT_TABLES:
        if not partition_exists(session, table, run_id):
            create_partition(session, table, run_id)
            build_partition(session, table, run_id, analyze=None)
            attach_partition(session, table, run_id)


def drop_run_partitions(engine: Engine, run_id: str) -> list[str]:
    """Remove a run's results for good (PostgreSQL, partitioned): each partition detached CONCURRENTLY
    (outside a transaction: SHARE UPDATE EXCLUSIVE on the parent, readers of other runs go on; it waits for
    the transactions that may still read the partition), then dropped (its own lock only). A detach
    interrupted half way (`DETACH ... FINALIZE` pending) is finished first. Returns the dropped tables."""
    dropped = []
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in RESULT_TABLES:
            name = partition_name(table, run_id)
            state = connection.execute(
                text(
                    "SELECT i.inhdetachpending FROM pg_inherits i"
                    " WHERE i.inhrelid = to_regclass(:name) AND i.inhparent = CAST(:table AS regclass)"
                ),
                {"name": name, "table": table},
            ).scalar()
            if state is not None:
                mode = "FINALIZE" if state else "CONCURRENTLY"
                connection.execute(text(f"ALTER TABLE {table} DETACH PARTITION {name} {mode}"))
            if partition_exists(connection, table, run_id):
                connection.execute(text(f"DROP TABLE {name}"))
                dropped.append(name)
    return dropped
