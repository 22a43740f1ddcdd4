"""The migrated schema is exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, String, Table, inspect, text

from recon.config import Settings
from recon.core.db import SessionFactory
from recon.core.migrations import alembic_config, current_revisions, head_revisions
from recon.models import Base, Project
from recon.runs.partitions import is_run_partition, partition_name
from review.factory import build_run


def _schema_names(name: str | None, type_: str, parent_names: object) -> bool:
    """As migrations/env.py: per-run partitions are data, not schema."""
    return not (type_ == "table" and name is not None and is_run_partition(name))


def _diff(engine: Engine, metadata: MetaData) -> list[object]:
    with engine.connect() as conn:
        opts = {"compare_type": True, "compare_server_default": True, "include_name": _schema_names}
        context = MigrationContext.configure(conn, opts=opts)
        return list(compare_metadata(context, metadata))


def test_upgrade_head_matches_models(db_engine: Engine, settings: Settings) -> None:
    assert _diff(db_engine, Base.metadata) == []
    with db_engine.connect() as conn:
        assert current_revisions(conn) == head_revisions(settings)


def test_parity_check_detects_drift(db_engine: Engine) -> None:
    # The comparison must be able to fail: a model table the migration does not create is reported.
    drifted = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(drifted)
    Table("not_migrated", drifted, Column("id", String(36), primary_key=True))
    diff = _diff(db_engine, drifted)
    assert any(op[0] == "add_table" and op[1].name == "not_migrated" for op in diff)  # type: ignore[index]


def test_matched_group_amounts_downgrade_and_upgrade_again(db_engine: Engine, settings: Settings) -> None:
    """0011 goes down to 0010's schema (the full amount index, no matched_group_amounts) and up again."""
    try:
        with db_engine.begin() as conn:
            command.downgrade(alembic_config(settings, conn), "0010_list_indexes")
        inspector = inspect(db_engine)
        assert "matched_group_amounts" not in inspector.get_table_names()
        assert "amount_listed" not in {c["name"] for c in inspector.get_columns("match_groups")}
        indexes = {i["name"] for i in inspector.get_indexes("match_groups")}
        assert "ix_match_groups_run_id_status_left_total_seq" in indexes
        assert "ix_match_groups_run_id_status_left_total_seq_unlisted" not in indexes
    finally:
        with db_engine.begin() as conn:
            command.upgrade(alembic_config(settings, conn), "head")
    assert _diff(db_engine, Base.metadata) == []


def test_member_order_index_downgrade_and_upgrade_again(db_engine: Engine, settings: Settings) -> None:
    """0012 goes down to 0011's members index (run_id, group_id) and up again."""
    new, old = "ix_run_items_run_id_group_id_side_row_no", "ix_run_items_run_id_group_id"
    try:
        with db_engine.begin() as conn:
            command.downgrade(alembic_config(settings, conn), "0011_matched_group_amounts")
        indexes = {i["name"]: i["column_names"] for i in inspect(db_engine).get_indexes("run_items")}
        assert indexes.get(old) == ["run_id", "group_id"] and new not in indexes
    finally:
        with db_engine.begin() as conn:
            command.upgrade(alembic_config(settings, conn), "head")
    indexes = {i["name"]: i["column_names"] for i in inspect(db_engine).get_indexes("run_items")}
    assert indexes.get(new) == ["run_id", "group_id", "side", "row_no"] and old not in indexes
    assert _diff(db_engine, Base.metadata) == []


def _results(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {
            table: [
                tuple(row) for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY run_id, {order}"))
            ]
            for table, order in RESULT_ORDER.items()
        }


RESULT_ORDER = {"run_items": "id", "match_groups": "id", "matched_group_amounts": "left_total, seq"}


def _kinds(engine: Engine) -> dict[str, str]:
    """relkind of the results tables on PostgreSQL (p: partitioned) and how many partitions each has."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, c.relkind, (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = c.oid)"
                " FROM pg_class c WHERE c.relname IN ('run_items', 'match_groups', 'matched_group_amounts')"
            )
        )
        return {name: f"{kind}{count}" for name, kind, count in rows}


def test_results_partitions_downgrade_and_upgrade_again_with_runs(
    db_engine: Engine,
    settings: Settings,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
) -> None:
    """0013 moves existing runs' rows into one partition per run (PostgreSQL), and back into plain tables;
    every row unchanged both ways, the ids' sequences kept, the decisions' foreign key gone and back."""
    project = make_project()
    runs = [build_run(session_factory, project).run_id for _ in range(2)]
    before = _results(db_engine)
    assert {row[1] for row in before["run_items"]} == set(runs)
    postgres = db_engine.dialect.name == "postgresql"
    try:
        with db_engine.begin() as conn:
            command.downgrade(alembic_config(settings, conn), "0012_member_order_index")
        assert _results(db_engine) == before
        if postgres:
            assert set(_kinds(db_engine).values()) == {"r0"}
        fks = inspect(db_engine).get_foreign_keys("decisions")
        assert any(fk["referred_table"] == "match_groups" for fk in fks)
    finally:
        with db_engine.begin() as conn:
            command.upgrade(alembic_config(settings, conn), "head")
    assert _results(db_engine) == before
    if postgres:
        assert _kinds(db_engine) == {table: "p2" for table in RESULT_ORDER}
        for table in RESULT_ORDER:
            assert all(inspect(db_engine).has_table(partition_name(table, run_id)) for run_id in runs)
    assert not any(
        fk["referred_table"] == "match_groups" for fk in inspect(db_engine).get_foreign_keys("decisions")
    )
    assert _diff(db_engine, Base.metadata) == []
    # the ids continue from the same sequence: a new run's rows get ids above the migrated ones
    newer = build_run(session_factory, project).run_id
    after = _results(db_engine)
    old_ids = [row[0] for row in before["run_items"]]
    assert min(row[0] for row in after["run_items"] if row[1] == newer) > max(old_ids)
