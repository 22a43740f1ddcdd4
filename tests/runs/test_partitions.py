"""PostgreSQL: each run's results live in partitions of their own (docs/adr/0038, Update): created and filled
by the persist, attached at its end; two runs persist at once; a run's partitions are dropped without holding
up the readers of other runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from run_helpers import Scene, create_run, finish_run, scene_fixture, stored_results, wait_run
from sqlalchemy import Engine, func, select, text

from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.models import MatchedGroupAmount, MatchGroup, RunItem
from recon.runs import partitions, persist
from recon.worker.runner import WorkerRunner

pytestmark = pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
RESULT_MODELS = (RunItem, MatchedGroupAmount, MatchGroup)


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(embedded_worker=False)


scene = scene_fixture(rows=150, drain="drain")


def _partitions_of(engine: Engine, run_id: str) -> dict[str, tuple[str, int, int]]:
    """{table: (partition, rows, indexes)} of the run's attached partitions."""
    found = {}
    with engine.connect() as conn:
        for table in partitions.RESULT_TABLES:
            name = partitions.partition_name(table, run_id)
            row = conn.execute(
                text(
                    "SELECT pg_get_expr(c.relpartbound, c.oid), c.relkind,"
                    " (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid)"
                    " FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid"
                    " WHERE h.inhparent = CAST(:table AS regclass) AND c.relname = :name"
                ),
                {"table": table, "name": name},
            ).one_or_none()
            if row is not None:
                rows = conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
                assert row[0] == f"FOR VALUES IN ('{run_id}')" and row[1] == "r"
                found[table] = (name, int(rows), int(row[2]))
    return found


def _parent_indexes(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        count = conn.execute(
            text("SELECT count(*) FROM pg_index WHERE indrelid = CAST(:t AS regclass)"), {"t": table}
        )
        return int(count.scalar_one())


def _counts(factory: SessionFactory, run_id: str) -> dict[str, int]:
    with session_scope(factory) as session:
        return {
            model.__tablename__: int(
                session.scalar(select(func.count()).select_from(model).where(model.run_id == run_id)) or 0
            )
            for model in RESULT_MODELS
        }


def test_a_run_gets_its_own_indexed_partitions(
    client: TestClient, scene: Scene, runner: WorkerRunner, session_factory: SessionFactory, db_engine: Engine
) -> None:
    run = finish_run(client, scene, runner.run_until_idle)
    assert run["status"] == "succeeded"
    found = _partitions_of(db_engine, run["id"])
    counts = _counts(session_factory, run["id"])
    assert set(found) == set(partitions.RESULT_TABLES)
    for table, (_name, rows, indexes) in found.items():
        assert rows == counts[table] > 0  # every row of the run is in its partition
        assert indexes == _parent_indexes(db_engine, table)  # each parent index has its partition
    with (
        db_engine.connect() as conn
    ):  # no DEFAULT partition, and the groups' ids still come from one sequence
        defaults = conn.execute(
            text("SELECT count(*) FROM pg_partitioned_table WHERE partdefid <> 0")
        ).scalar_one()
        assert defaults == 0
    # a list query of the run reads its partition only
    with db_engine.connect() as conn:
        plan = "\n".join(
            conn.execute(
                text("EXPLAIN SELECT id FROM run_items WHERE run_id = :r AND state <> 'matched' LIMIT 10"),
                {"r": run["id"]},
            ).scalars()
        )
    assert found["run_items"][0] in plan and "Append" not in plan


def test_two_runs_persist_at_once(
    client: TestClient,
    scene: Scene,
    runner: WorkerRunner,
    session_factory: SessionFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both runs' items transactions are past their COPYs before either attaches: the attaches queue on
    the parent's lock, neither deadlocks, both runs have their results, identical to each other's."""
    first, second = create_run(client, scene)["id"], create_run(client, scene)["id"]
    both_written = threading.Barrier(2, timeout=60)
    real_attach = partitions.attach_partition

    def attach_when_both_written(session: Any, table: str, run_id: str) -> None:
        if table == RunItem.__tablename__:
            both_written.wait()
        real_attach(session, table, run_id)

    monkeypatch.setattr(persist, "attach_partition", attach_when_both_written)
    workers = [threading.Thread(target=runner.run_one) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert not any(worker.is_alive() for worker in workers)

    done = [wait_run(client, scene.headers, run_id) for run_id in (first, second)]
    assert [d["status"] for d in done] == ["succeeded", "succeeded"]
    assert done[0]["results_sha256"] == done[1]["results_sha256"]
    assert stored_results(session_factory, first) == stored_results(session_factory, second)
    assert _counts(session_factory, first) == _counts(session_factory, second)


def test_a_retry_after_the_items_committed_reuses_their_partitions(
    client: TestClient,
    scene: Scene,
    runner: WorkerRunner,
    session_factory: SessionFactory,
    db_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The groups' COPY fails after the items' transaction committed its attached partitions: the run
    shows nothing, the retry empties those partitions and writes them again, the groups' partition is new."""
    real_insert = persist.insert_rows
    failures: list[str] = []

    def groups_fail_once(session: Any, table: str, rows: Any, *args: Any, **kwargs: Any) -> None:
        if table.startswith("match_groups_") and not failures:
            failures.append(table)
            raise RuntimeError("the groups' connection dropped")
        real_insert(session, table, rows, *args, **kwargs)

    monkeypatch.setattr(persist, "insert_rows", groups_fail_once)
    run_id = create_run(client, scene)["id"]
    runner.run_until_idle()
    assert failures
    left = _partitions_of(db_engine, run_id)
    assert set(left) == {"run_items", "matched_group_amounts"} and left["run_items"][1] > 0
    response = client.get(f"/api/v1/runs/{run_id}/unmatched?side=left", headers=scene.headers)
    assert response.status_code == 409  # not succeeded: its committed items are nobody's to see

    with session_scope(session_factory) as session:  # the retry is due now, not after its backoff
        session.execute(text("UPDATE jobs SET run_after = now()"))
    runner.run_until_idle()
    done = wait_run(client, scene.headers, run_id)
    assert (done["status"], done["job"]["attempts"]) == ("succeeded", 2)
    after = _partitions_of(db_engine, run_id)
    assert set(after) == set(partitions.RESULT_TABLES)
    counts = _counts(session_factory, run_id)
    assert {table: rows for table, (_, rows, _) in after.items()} == counts
    assert counts["run_items"] == done["summary"]["left"]["rows"] + done["summary"]["right"]["rows"]


def _read(conn: Any, table: str, run_id: str) -> int:
    query = text(f"SELECT count(*) FROM {table} WHERE run_id = :r")
    return int(conn.execute(query, {"r": run_id}).scalar_one())


def test_dropping_a_run_does_not_hold_up_readers_of_other_runs(
    client: TestClient,
    scene: Scene,
    runner: WorkerRunner,
    session_factory: SessionFactory,
    db_engine: Engine,
) -> None:
    """The partitions are detached CONCURRENTLY, then dropped: the detach waits for a transaction that had
    read the parent (a long export of another run), and meanwhile new readers of other runs go on (a DROP of
    an attached partition would queue them all behind its ACCESS EXCLUSIVE lock on the parent)."""
    kept = finish_run(client, scene, runner.run_until_idle)["id"]
    dropped = finish_run(client, scene, runner.run_until_idle)["id"]
    before = _counts(session_factory, kept)
    result: dict[str, Any] = {}
    dropping = threading.Thread(
        target=lambda: result.update(dropped=partitions.drop_run_partitions(db_engine, dropped))
    )
    open_reader = db_engine.connect()
    try:
        open_reader.begin()
        _read(open_reader, "run_items", kept)
        dropping.start()
        dropping.join(1.0)
        assert dropping.is_alive()  # waiting for the open reader
        with db_engine.connect() as conn:
            conn.execute(text("SET lock_timeout = '2s'"))
            for table in partitions.RESULT_TABLES:
                assert _read(conn, table, kept) == before[table]
    finally:
        open_reader.rollback()
        open_reader.close()
    dropping.join(60)
    assert not dropping.is_alive()
    names = [partitions.partition_name(table, dropped) for table in partitions.RESULT_TABLES]
    assert result["dropped"] == names
    assert _partitions_of(db_engine, dropped) == {}
    assert _counts(session_factory, dropped) == dict.fromkeys(before, 0)
    assert _counts(session_factory, kept) == before
    assert partitions.drop_run_partitions(db_engine, dropped) == []  # nothing left: a second call is a no-op
