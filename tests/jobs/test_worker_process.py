"""`recon worker` as a real process: SIGKILL mid-task -> lease expires -> another worker retries the job and
its effects exist exactly once; SIGTERM -> the running job is released back to the queue."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import job_tasks
import pytest
from sqlalchemy import func, select

from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.jobs import enqueue
from recon.models.jobs import Job
from recon.worker.runner import WorkerRunner
from worker_processes import SpawnWorker, wait_for, worker_processes

TESTS_JOBS_DIR = Path(__file__).resolve().parent
pytestmark = pytest.mark.slow


@pytest.fixture
def spawn_worker(settings: Settings, tmp_path: Path) -> Iterator[SpawnWorker]:
    with worker_processes(
        settings,
        tmp_path,
        imports="job_tasks",
        imports_dir=TESTS_JOBS_DIR,
        SHUTDOWN_TIMEOUT_S="10",
        LOG_LEVEL="INFO",
    ) as spawn:
        yield spawn


def _wait_for(predicate: Callable[[], bool], what: str, proc: subprocess.Popen[bytes] | None = None) -> None:
    wait_for(predicate, what, proc)


def _job(factory: SessionFactory, job_id: str) -> Job:
    with session_scope(factory) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def _effects(factory: SessionFactory, job_id: str) -> list[tuple[int, int]]:
    table = job_tasks.job_effects
    with session_scope(factory) as session:
        rows = session.execute(
            select(table.c.attempt, table.c.n).where(table.c.job_id == job_id).order_by(table.c.n)
        ).all()
    return [(r.attempt, r.n) for r in rows]


@pytest.mark.usefixtures("effects_table")
def test_sigkilled_worker_job_is_retried_with_effects_exactly_once(
    session_factory: SessionFactory,
    spawn_worker: Callable[[], subprocess.Popen[bytes]],
    make_runner: Callable[..., WorkerRunner],
    tmp_path: Path,
) -> None:
    marker = tmp_path / "stalled"
    with session_scope(session_factory) as session:
        job_id = enqueue(
            session, "test.write_effects", {"rows": 200, "stall_attempt": 1, "marker": str(marker)}
        ).id
    worker = spawn_worker()
    _wait_for(marker.exists, "the worker to be halfway through the task", worker)
    assert _job(session_factory, job_id).status == "running"

    worker.send_signal(signal.SIGKILL)
    worker.wait(30)

    job = _job(session_factory, job_id)
    assert (job.status, job.attempts) == ("running", 1)  # nobody knows yet: the lease has to expire
    assert _effects(session_factory, job_id) == []  # the half-written transaction died with the process
    survivor = make_runner(lease_s=3)
    survivor.start()
    _wait_for(lambda: _job(session_factory, job_id).status in {"succeeded", "failed"}, "the retry")

    job = _job(session_factory, job_id)
    assert (job.status, job.attempts, job.result) == ("succeeded", 2, {"rows": 200})
    assert (job.leased_by or "").startswith(f"{survivor.worker_id}/")  # attempt 2 ran in the other worker
    assert _effects(session_factory, job_id) == [(2, n) for n in range(200)]


def test_sigterm_releases_the_running_job_and_exits_cleanly(
    session_factory: SessionFactory, spawn_worker: Callable[[], subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    marker = tmp_path / "running"
    with session_scope(session_factory) as session:
        job_id = enqueue(session, "test.until_cancelled", {"marker": str(marker)}).id
    worker = spawn_worker()
    _wait_for(marker.exists, "the task to start", worker)

    worker.send_signal(signal.SIGTERM)

    assert worker.wait(30) == 0
    job = _job(session_factory, job_id)
    assert (job.status, job.attempts, job.leased_by) == ("queued", 0, None)
    with session_scope(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(Job).where(Job.status == "running")) == 0
