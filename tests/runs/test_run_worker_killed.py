"""A worker process SIGKILLed while it writes a run's results: nobody ever sees part of them, the job is
retried by another worker, and the results are identical to those of an uninterrupted run.

On SQLite the results are one transaction: none of their rows is stored when the worker dies. On PostgreSQL
the items are committed on their own connection before the groups' transaction flips the run to succeeded
(docs/adr/0033): when the worker dies, its items are stored but the run has not succeeded, so no API shows
them (409), and the retried attempt replaces them."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from run_helpers import Scene, scene_fixture, stored_results, wait_run, wait_until
from sqlalchemy import func, select

from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.models import MatchGroup, RunItem
from recon.worker.runner import WorkerRunner
from worker_processes import SpawnWorker, worker_processes

TESTS_DIR = Path(__file__).resolve().parent
pytestmark = pytest.mark.slow


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(embedded_worker=False)  # only the worker processes of the test run the runs


@pytest.fixture
def spawn_worker(settings: Settings, tmp_path: Path) -> Iterator[SpawnWorker]:
    with worker_processes(
        settings, tmp_path, imports="run_kill_hooks", imports_dir=TESTS_DIR, STORAGE_BACKEND="local"
    ) as spawn:
        yield spawn


@pytest.fixture
def ingest(session_factory: SessionFactory, settings: Settings) -> Callable[[], object]:
    """Ingestion in the test (the worker processes run only the runs)."""
    return WorkerRunner(session_factory, settings=settings, kinds=["ingest_dataset"]).run_until_idle


scene = scene_fixture(rows=500, drain="ingest")


def _stored(factory: SessionFactory, run_id: str) -> tuple[int, int]:
    with session_scope(factory) as session:
        groups = session.scalar(
            select(func.count()).select_from(MatchGroup).where(MatchGroup.run_id == run_id)
        )
        items = session.scalar(select(func.count()).select_from(RunItem).where(RunItem.run_id == run_id))
    return int(groups or 0), int(items or 0)


def test_sigkilled_run_is_retried_with_identical_results(
    client: TestClient,
    scene: Scene,
    session_factory: SessionFactory,
    spawn_worker: Callable[..., subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    url = f"/api/v1/projects/{scene.project.id}/runs"
    run_id = client.post(url, json=scene.run_body(), headers=scene.headers).json()["id"]
    marker = tmp_path / "stalled"

    victim = spawn_worker(stall_marker=marker)
    wait_until(lambda: marker.exists() or victim.poll() is not None, "the worker to be writing the results")
    assert victim.poll() is None, (tmp_path / "worker-0.log").read_text()
    # The groups are inserted but not committed; the items likewise on SQLite, committed on PostgreSQL.
    postgres = session_factory.kw["bind"].dialect.name == "postgresql"
    while_writing = _stored(session_factory, run_id)
    assert while_writing[0] == 0 and (while_writing[1] > 0) == postgres, while_writing
    _assert_nothing_visible(client, scene, run_id)

    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    assert _stored(session_factory, run_id) == while_writing  # died with the groups' transaction
    _assert_nothing_visible(client, scene, run_id)

    survivor = spawn_worker()
    done = wait_run(client, scene.headers, run_id)
    assert survivor.poll() is None
    assert (done["status"], done["job"]["attempts"], done["attempt"]) == ("succeeded", 2, 1)

    reference = client.post(url, json=scene.run_body(), headers=scene.headers).json()["id"]
    again = wait_run(client, scene.headers, reference)
    assert again["status"] == "succeeded" and again["job"]["attempts"] == 1
    assert again["results_sha256"] == done["results_sha256"]
    killed, uninterrupted = (
        stored_results(session_factory, run_id),
        stored_results(session_factory, reference),
    )
    assert killed == uninterrupted
    assert len(killed[1]) == done["summary"]["left"]["rows"] + done["summary"]["right"]["rows"]
    assert _stored(session_factory, run_id) == _stored(
        session_factory, reference
    )  # the attempt's rows replaced


def _assert_nothing_visible(client: TestClient, scene: Scene, run_id: str) -> None:
    """The run is not succeeded, and no results endpoint answers but 409."""
    seen = client.get(f"/api/v1/runs/{run_id}", headers=scene.headers).json()
    assert (seen["status"], seen["progress"]["phase"], seen["summary"]) == ("running", "persisting", None)
    for tail in ("counts", "groups", "groups/totals", "unmatched?side=left", "unmatched/totals?side=right"):
        assert client.get(f"/api/v1/runs/{run_id}/{tail}", headers=scene.headers).status_code == 409, tail
