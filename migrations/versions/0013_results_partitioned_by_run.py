"""PostgreSQL: run_items, match_groups, matched_group_amounts partitioned by LIST (run_id), one partition per run

Revision ID: 0013_results_partitioned_by_run
Revises: 0012_member_order_index

A run's results are COPYed into a table of their own created in the persist's transaction (FREEZE, indexes
built at once) and attached (docs/adr/0038, Update). The primary keys of a partitioned table include the
partition key: run_items and match_groups become (run_id, id) on PostgreSQL; the ORM keeps addressing rows by
id. decisions.group_id loses its foreign key to match_groups (on both databases: a partitioned table is
referenced only through a key that includes run_id); the review code keeps it consistent.

Upgrade: each table is renamed aside, its partitioned successor is created with the same columns, checks,
defaults (the same id sequence), keys and indexes, then every run that has results or has succeeded gets its
partitions and the rows move over (no DEFAULT partition: ATTACH would scan it each time). Downgrade: the
reverse, into plain tables. SQLite: only the foreign key goes (and comes back).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_results_partitioned_by_run"
down_revision: str | None = "0012_member_order_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("run_items", "matched_group_amounts", "match_groups")
ID_TABLES = ("run_items", "match_groups")  # primary key (id) <-> (run_id, id)
FK = "fk_decisions_group_id_match_groups"


def _partition_name(table: str, run_id: str) -> str:
    """As recon.runs.partitions.partition_name (frozen here: a migration must not change with the code)."""
    try:
        suffix = uuid.UUID(run_id).hex if len(run_id) == 36 else ""
    except ValueError:
        suffix = ""
    return f"{table}_{suffix or hashlib.md5(run_id.encode(), usedforsecurity=False).hexdigest()}"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _scalars(sql: str, **params: str) -> list[str]:
    return list(op.get_bind().execute(sa.text(sql), params).scalars())


def _definitions(table: str) -> tuple[list[str], list[tuple[str, str, str]]]:
    """(CREATE INDEX statements of the indexes no constraint backs, [(name, type, definition)] of the
    primary, unique and foreign keys) of `table`."""
    indexes = _scalars(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " WHERE i.indrelid = CAST(:t AS regclass)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid)",
        t=table,
    )
    keys = op.get_bind().execute(
        sa.text(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = CAST(:t AS regclass) AND contype IN ('p', 'u', 'f') ORDER BY conname"
        ),
        {"t": table},
    )
    return indexes, [(str(n), str(k), str(d)) for n, k, d in keys]


def _index_on(definition: str, table: str) -> str:
    """An index definition read from another table (plain or partitioned), for `table`."""
    head, _, tail = definition.partition(" ON ")
    tail = tail.removeprefix("ONLY ")
    return f"{head} ON {table} USING {tail.partition(' USING ')[2]}"


def _rebuild(table: str, *, partitioned: bool) -> None:
    """Replace `table` by a plain or partitioned table of the same columns and rows."""
    old = f"{table}_{'unpartitioned' if partitioned else 'partitioned'}"
    indexes, keys = _definitions(table)
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    for name, kind, _ in keys:
        if kind in "pu":  # their indexes' names are taken for the new table's
            op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT {name} TO {name}_old")
    for definition in indexes:
        op.execute(f"DROP INDEX {definition.split(' INDEX ', 1)[1].split(' ')[0]}")
    by = " PARTITION BY LIST (run_id)" if partitioned else ""
    op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS){by}")
    if table in ID_TABLES:
        op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
    for name, _, definition in keys:
        if table in ID_TABLES and definition.startswith("PRIMARY KEY"):
            definition = "PRIMARY KEY (run_id, id)" if partitioned else "PRIMARY KEY (id)"
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for definition in indexes:
        op.execute(_index_on(definition, table))
    if partitioned:
        runs = _scalars(
            f"SELECT DISTINCT run_id FROM {old} UNION SELECT id FROM runs WHERE status = 'succeeded'"
        )
        for run_id in runs:
            name = _partition_name(table, run_id)
            op.execute(f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES IN ({_literal(run_id)})")
    op.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    op.execute(f"DROP TABLE {old}")
    op.execute(f"ANALYZE {table}")


def upgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_constraint(FK, type_="foreignkey")
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        _rebuild(table, partitioned=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            _rebuild(table, partitioned=False)
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_foreign_key(FK, "match_groups", ["group_id"], ["id"], ondelete="SET NULL")
