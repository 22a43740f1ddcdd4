"""A worker process SIGKILLed in the middle of an ingestion: the retry stores every row exactly once, and
nobody ever sees half of the records."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dataset_helpers import WAIT_S, datasets_url
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.models import Dataset, DatasetRecord, Project, User
from recon.models.jobs import Job
from worker_processes import SpawnWorker, wait_for, worker_processes

TESTS_DIR = Path(__file__).resolve().parent
ROWS = 5000
pytestmark = pytest.mark.slow


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(embedded_worker=False)  # only the worker processes of the test run jobs


@pytest.fixture
def spawn_worker(settings: Settings, tmp_path: Path) -> Iterator[SpawnWorker]:
    with worker_processes(
        settings, tmp_path, imports="dataset_kill_hooks", imports_dir=TESTS_DIR, STORAGE_BACKEND="local"
    ) as spawn:
        yield spawn


def _wait_for(predicate: Callable[[], bool], what: str, proc: subprocess.Popen[bytes] | None = None) -> None:
    wait_for(predicate, what, proc, timeout=WAIT_S)


def _state(factory: SessionFactory, dataset_id: str) -> tuple[Dataset, Job, int, int]:
    with session_scope(factory) as session:
        dataset = session.get(Dataset, dataset_id)
        assert dataset is not None and dataset.job_id is not None
        job = session.get(Job, dataset.job_id)
        assert job is not None
        where = DatasetRecord.dataset_id == dataset_id
        count = session.scalar(select(func.count()).select_from(DatasetRecord).where(where)) or 0
        distinct = session.scalar(select(func.count(func.distinct(DatasetRecord.row_no))).where(where)) or 0
        return dataset, job, count, distinct


def test_sigkilled_ingestion_is_retried_and_stores_every_row_once(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
    upload: Callable[..., Any],
    session_factory: SessionFactory,
    spawn_worker: Callable[..., subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    data = b"id,date,amount,memo\n" + b"".join(
        b"T%05d,2024-06-%02d,%d.%02d,note %d\n" % (i, i % 28 + 1, i, i % 100, i) for i in range(ROWS)
    )
    dataset_id = upload(preparer, project, data).json()["id"]
    marker = tmp_path / "stalled"

    victim = spawn_worker(stall_marker=marker)
    _wait_for(marker.exists, "the worker to be halfway through the ingestion", victim)
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)

    dataset, job, count, _ = _state(session_factory, dataset_id)
    assert (dataset.status, job.status, job.attempts) == ("ingesting", "running", 1)
    assert count == 0  # the inserted records died with the transaction: never half
    seen = client.get(f"{datasets_url(project)}/{dataset_id}", headers=auth_headers(preparer)).json()
    assert (seen["status"], seen["rows"]) == ("ingesting", 0)

    survivor = spawn_worker()
    finished = lambda: _state(session_factory, dataset_id)[0].status in ("ready", "failed")  # noqa: E731
    _wait_for(finished, "the retry", survivor)

    dataset, job, count, distinct = _state(session_factory, dataset_id)
    assert (dataset.status, dataset.rows, dataset.rejected) == ("ready", ROWS, 0)
    assert (job.status, job.attempts) == ("succeeded", 2)
    assert count == distinct == ROWS
