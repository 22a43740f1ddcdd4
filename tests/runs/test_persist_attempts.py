"""An attempt that fails after its results were (partly) written: on PostgreSQL its items and
matched_group_amounts are committed on their own connection before the groups' transaction (docs/adr/0033).
Nobody sees them (the run has not succeeded), the next attempt replaces them (identical results, every record
once), and a run that fails for good keeps none. On SQLite nothing of the attempt is stored; the same
assertions hold."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from run_helpers import Scene, create_run, finish_run, scene_fixture, stored_results, wait_run
from sqlalchemy import func, select, update

from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.core.time import utcnow
from recon.jobs import JobFailed
from recon.models import MatchedGroupAmount, MatchGroup, RunItem
from recon.models.jobs import Job
from recon.runs import persist, tasks
from recon.worker.runner import WorkerRunner


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(embedded_worker=False)


scene = scene_fixture(rows=200, drain="drain")


def _counts(factory: SessionFactory, run_id: str) -> tuple[int, int, int]:
    with session_scope(factory) as session:
        return tuple(  # type: ignore[return-value]
            int(session.scalar(select(func.count()).select_from(model).where(model.run_id == run_id)) or 0)
            for model in (MatchGroup, MatchedGroupAmount, RunItem)
        )


def _is_postgres(factory: SessionFactory) -> bool:
    with session_scope(factory) as session:
        return session.get_bind().dialect.name == "postgresql"


def _fail_after_writing(monkeypatch: pytest.MonkeyPatch, error: Exception, times: int) -> list[str]:
    """`tasks.write_results` writes the results, then raises `error` (the first `times` calls)."""
    real = tasks.write_results
    failed: list[str] = []

    def write_then_fail(*args: Any, **kwargs: Any) -> Any:
        outcome = real(*args, **kwargs)
        if len(failed) < times:
            failed.append(args[1].id)
            raise error
        return outcome

    monkeypatch.setattr(tasks, "write_results", write_then_fail)
    return failed


def _assert_no_results_visible(client: TestClient, scene: Scene, run_id: str) -> None:
    for tail in ("counts", "groups", "groups/totals", "unmatched?side=left", "unmatched/totals?side=right"):
        response = client.get(f"/api/v1/runs/{run_id}/{tail}", headers=scene.headers)
        assert response.status_code == 409, (tail, response.text)


def test_a_retried_attempt_replaces_the_rows_an_attempt_left(
    client: TestClient,
    scene: Scene,
    runner: WorkerRunner,
    session_factory: SessionFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failed = _fail_after_writing(monkeypatch, RuntimeError("the connection dropped before the commit"), 1)
    run_id = create_run(client, scene)["id"]
    runner.run_until_idle()
    assert failed == [run_id]

    seen = client.get(f"/api/v1/runs/{run_id}", headers=scene.headers).json()
    assert seen["status"] == "queued" and "will be retried" in seen["error"]
    groups, amounts, items = _counts(session_factory, run_id)
    assert groups == 0  # rolled back with the run's transaction
    # committed before it on PostgreSQL (the items' connection), rolled back with it on SQLite
    assert (amounts > 0, items > 0) == (_is_postgres(session_factory),) * 2
    _assert_no_results_visible(client, scene, run_id)

    with session_scope(session_factory) as session:  # the retry is due now, not after its backoff
        session.execute(update(Job).where(Job.id == seen["job"]["id"]).values(run_after=utcnow()))
    runner.run_until_idle()
    done = wait_run(client, scene.headers, run_id)
    assert (done["status"], done["job"]["attempts"]) == ("succeeded", 2)

    again = finish_run(client, scene, runner.run_until_idle)
    reference = again["id"]
    assert again["status"] == "succeeded" and again["results_sha256"] == done["results_sha256"]
    retried, uninterrupted = (
        stored_results(session_factory, run_id),
        stored_results(session_factory, reference),
    )
    assert retried == uninterrupted
    assert len(retried[1]) == done["summary"]["left"]["rows"] + done["summary"]["right"]["rows"]
    assert _counts(session_factory, run_id) == _counts(session_factory, reference)


def test_a_run_that_fails_for_good_keeps_no_rows(
    client: TestClient,
    scene: Scene,
    runner: WorkerRunner,
    session_factory: SessionFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fail_after_writing(monkeypatch, JobFailed("the results cannot be kept"), 1)
    run_id = create_run(client, scene)["id"]
    runner.run_until_idle()

    done = wait_run(client, scene.headers, run_id)
    assert (done["status"], done["job"]["attempts"]) == ("failed", 1)
    assert done["finished_at"] is not None
    assert _counts(session_factory, run_id) == (0, 0, 0)
    _assert_no_results_visible(client, scene, run_id)


def test_the_items_roll_back_when_the_groups_fail_first(
    client: TestClient,
    scene: Scene,
    runner: WorkerRunner,
    session_factory: SessionFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken_groups(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the groups could not be built")

    monkeypatch.setattr(persist, "finish_outcome", broken_groups)
    run_id = create_run(client, scene)["id"]
    runner.run_until_idle()

    seen = client.get(f"/api/v1/runs/{run_id}", headers=scene.headers).json()
    assert seen["status"] == "queued" and "(RuntimeError)" in seen["error"]
    assert _counts(session_factory, run_id) == (0, 0, 0)  # the items' transaction abandoned, not committed
