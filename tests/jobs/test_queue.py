"""Enqueue, lease, complete, fail, retry, cancel, reclaim and release on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from pathlib import Path

import job_tasks
import pytest
from sqlalchemy import func, insert, select

from recon.core.db import SessionFactory, session_scope
from recon.core.time import utcnow
from recon.jobs import JobContext, LeaseLost, enqueue
from recon.jobs import queue as jobq
from recon.jobs.metrics import job_counts_by_state
from recon.models import Project
from recon.models.jobs import Job, JobStatus
from recon.worker.runner import WorkerRunner

Runner = Callable[..., WorkerRunner]


def _enqueue(factory: SessionFactory, kind: str, payload: dict, **kwargs: object) -> str:
    with session_scope(factory) as session:
        return enqueue(session, kind, payload, **kwargs).id  # type: ignore[arg-type]


def _job(factory: SessionFactory, job_id: str) -> Job:
    with session_scope(factory) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def _make_due(factory: SessionFactory, job_id: str) -> None:
    """Skip the retry backoff."""
    with session_scope(factory) as session:
        session.execute(jobq.update(Job).where(Job.id == job_id).values(run_after=utcnow()))


def _wait_for(predicate: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_enqueue_is_part_of_the_callers_transaction(session_factory: SessionFactory) -> None:
    with pytest.raises(RuntimeError), session_scope(session_factory) as session:
        enqueue(session, "test.echo", {"value": "x"})
        raise RuntimeError("the request failed after enqueueing")
    with session_scope(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0

    job_id = _enqueue(session_factory, "test.echo", {"value": "x"})
    job = _job(session_factory, job_id)
    assert (job.status, job.attempts, job.max_attempts, job.payload) == ("queued", 0, 3, {"value": "x"})


@pytest.mark.parametrize(
    ("kind", "payload", "message"),
    [
        ("test.nope", {}, "unknown job kind 'test.nope'"),
        ("test.echo", {"value": 1.5, "extra": True}, "does not fit task 'test.echo'"),
        ("test.echo", {}, "does not fit task 'test.echo'"),
        ("test.echo", {"value": object()}, "not plain JSON"),
    ],
)
def test_enqueue_refuses_bad_kinds_and_payloads(
    session_factory: SessionFactory, kind: str, payload: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message), session_scope(session_factory) as session:
        enqueue(session, kind, payload)


def test_job_runs_to_success_with_result_and_progress(
    session_factory: SessionFactory, make_runner: Runner
) -> None:
    job_id = _enqueue(session_factory, "test.echo", {"value": "hello"})

    assert make_runner().run_until_idle() == 1

    job = _job(session_factory, job_id)
    assert job.status == JobStatus.SUCCEEDED
    assert job.result == {"value": "hello", "attempt": "1", "environment": "test"}
    assert (job.progress, job.attempts, job.message, job.error) == (1.0, 1, "halfway", None)
    assert job.started_at is not None and job.finished_at is not None
    assert job.finished_at >= job.started_at
    assert job.lease_expires_at is None


def test_failures_are_retried_until_success(session_factory: SessionFactory, make_runner: Runner) -> None:
    job_id = _enqueue(session_factory, "test.flaky", {"fail_times": 2})

    assert make_runner().run_until_idle() == 3

    job = _job(session_factory, job_id)
    assert (job.status, job.attempts, job.error) == ("succeeded", 3, None)


def test_retries_stop_at_max_attempts_and_the_failure_hook_runs(
    session_factory: SessionFactory, make_runner: Runner
) -> None:
    job_id = _enqueue(session_factory, "test.flaky", {"fail_times": 99})

    assert make_runner().run_until_idle() == 3

    job = _job(session_factory, job_id)
    assert (job.status, job.attempts) == ("failed", 3)
    # unexpected errors: users see the kind and where to look, the library's text stays in the log
    assert (
        job.error == f"internal error (RuntimeError); the details are in the worker's log under job {job_id}"
    )
    assert job.message == "hook: failed (attempts=3)"
    assert job.finished_at is not None


def test_retry_waits_for_its_backoff(session_factory: SessionFactory, make_runner: Runner) -> None:
    job_id = _enqueue(session_factory, "test.echo", {"value": "v"}, max_attempts=2)
    runner = make_runner()
    lease = jobq.lease_next(session_factory, runner.worker_id, ["test.echo"], 30)
    assert lease is not None

    status = jobq.finish_with_error(
        session_factory, lease, "RuntimeError: x", permanent=False, cancel_requested=False
    )

    assert status is JobStatus.QUEUED
    job = _job(session_factory, job_id)
    assert job.run_after > utcnow()  # test.echo backs off 5 s
    assert job.message == "attempt 1 failed; retrying in 5s"
    assert runner.run_until_idle() == 0  # not due yet
    _make_due(session_factory, job_id)
    assert runner.run_until_idle() == 1
    assert _job(session_factory, job_id).status == "succeeded"


def test_job_failed_is_permanent(session_factory: SessionFactory, make_runner: Runner) -> None:
    job_id = _enqueue(session_factory, "test.bad_input", {})

    assert make_runner().run_until_idle() == 1

    job = _job(session_factory, job_id)
    assert (job.status, job.attempts, job.max_attempts) == ("failed", 1, 5)
    assert job.error == "column 'amount' is missing"  # the reason as raised, no class name
    assert job.message == "hook: failed (attempts=1)"


def test_a_worker_only_leases_the_kinds_it_knows(
    session_factory: SessionFactory, make_runner: Runner
) -> None:
    job_id = _enqueue(session_factory, "test.echo", {"value": "v"})

    assert make_runner(kinds=["test.flaky"]).run_until_idle() == 0
    assert _job(session_factory, job_id).status == "queued"


def test_expired_lease_is_reclaimed_and_the_job_retried(
    session_factory: SessionFactory, make_runner: Runner
) -> None:
    job_id = _enqueue(session_factory, "test.echo", {"value": "again"})
    dead = jobq.lease_next(session_factory, "dead-host:1:abc", ["test.echo"], lease_s=-1)  # already expired
    assert dead is not None and dead.attempt == 1
    runner = make_runner()

    runner.heartbeat_once()  # reclaims

    job = _job(session_factory, job_id)
    assert (job.status, job.attempts, job.leased_by) == ("queued", 1, None)
    assert "lease expired" in (job.error or "")
    assert job.run_after > utcnow()  # retried after the task's backoff
    _make_due(session_factory, job_id)
    assert runner.run_until_idle() == 1
    job = _job(session_factory, job_id)
    assert (job.status, job.attempts, job.result) == (
        "succeeded",
        2,
        {"value": "again", "attempt": "2", "environment": "test"},
    )
    # The dead attempt can no longer write anything.
    with session_scope(session_factory) as session:
        assert not jobq.mark_succeeded(session, dead, {"late": True}, None)
        assert not jobq.set_progress(session, dead, 0.3, "late").alive
    assert _job(session_factory, job_id).result == {"value": "again", "attempt": "2", "environment": "test"}


def test_a_worker_does_not_reclaim_its_own_leases(
    session_factory: SessionFactory, make_runner: Runner
) -> None:
    job_id = _enqueue(session_factory, "test.echo", {"value": "v"})
    runner = make_runner()
    assert jobq.lease_next(session_factory, runner.worker_id, ["test.echo"], lease_s=-1) is not None

    runner.heartbeat_once()

    assert _job(session_factory, job_id).status == "running"


def test_lease_expiry_on_the_last_attempt_fails_the_job(
    session_factory: SessionFactory, make_runner: Runner
) -> None:
    job_id = _enqueue(session_factory, "test.flaky", {"fail_times": 0}, max_attempts=1)
    assert jobq.lease_next(session_factory, "dead-host:1:abc", ["test.flaky"], lease_s=-1) is not None

    make_runner().heartbeat_once()

    job = _job(session_factory, job_id)
    assert (job.status, job.attempts) == ("failed", 1)
    assert job.message == "hook: failed (attempts=1)"


def test_heartbeat_renews_running_leases(session_factory: SessionFactory, make_runner: Runner) -> None:
    runner = make_runner(lease_s=120)
    job_id = _enqueue(session_factory, "test.echo", {"value": "v"})
    lease = jobq.lease_next(session_factory, runner.worker_id, ["test.echo"], lease_s=1)
    assert lease is not None
    before = _job(session_factory, job_id).lease_expires_at
    with session_scope(session_factory) as session:
        state = jobq.renew(session, lease, 120)
    after = _job(session_factory, job_id).lease_expires_at
    assert state.alive and not state.cancel_requested
    assert before is not None and after is not None and after > before + dt.timedelta(seconds=60)


def test_cancelling_a_running_job_stops_it_and_runs_the_hook(
    session_factory: SessionFactory, make_runner: Runner, tmp_path: Path
) -> None:
    marker = tmp_path / "running"
    job_id = _enqueue(session_factory, "test.until_cancelled", {"marker": str(marker)})
    runner = make_runner()
    runner.start()
    _wait_for(marker.exists, "the task to start")

    with session_scope(session_factory) as session:
        session.execute(jobq.update(Job).where(Job.id == job_id).values(cancel_requested=True))
    _wait_for(lambda: _job(session_factory, job_id).status == "cancelled", "the job to end cancelled")

    job = _job(session_factory, job_id)
    assert (job.attempts, job.message) == (1, "hook: cancelled (attempts=1)")


def test_graceful_stop_releases_the_running_job_without_counting_the_attempt(
    session_factory: SessionFactory, make_runner: Runner, tmp_path: Path
) -> None:
    marker = tmp_path / "running"
    job_id = _enqueue(session_factory, "test.until_cancelled", {"marker": str(marker)})
    runner = make_runner()
    runner.start()
    _wait_for(marker.exists, "the task to start")

    runner.stop(grace_s=10)

    job = _job(session_factory, job_id)
    assert (job.status, job.attempts, job.leased_by) == ("queued", 0, None)
    assert job.message == "released by a stopping worker"


def test_commit_wakes_the_embedded_runner(session_factory: SessionFactory, make_runner: Runner) -> None:
    # Polling once a minute: only the after-commit wake-up can start the job within the wait below.
    runner = make_runner(poll_interval_s=60)
    runner.start()
    time.sleep(0.2)  # let the threads reach their wait
    job_id = _enqueue(session_factory, "test.echo", {"value": "fast"})

    _wait_for(lambda: _job(session_factory, job_id).status == "succeeded", "the woken worker", timeout_s=30)


def test_concurrent_leasing_never_hands_out_a_job_twice(session_factory: SessionFactory) -> None:
    with session_scope(session_factory) as session:
        for i in range(120):
            enqueue(session, "test.echo", {"value": str(i)})
    leased: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def lease_all(worker: int) -> None:
        start.wait()
        while (lease := jobq.lease_next(session_factory, f"w{worker}", ["test.echo"], 30)) is not None:
            with lock:
                leased.append(lease.job_id)

    threads = [threading.Thread(target=lease_all, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(leased) == 120
    assert len(set(leased)) == 120
    with session_scope(session_factory) as session:
        assert job_counts_by_state(session) == {
            "queued": 0,
            "running": 120,
            "succeeded": 0,
            "failed": 0,
            "cancelled": 0,
        }


def test_project_deletion_cascades_to_its_jobs(
    session_factory: SessionFactory, make_project: Callable[..., Project]
) -> None:
    project = make_project()
    _enqueue(session_factory, "test.echo", {"value": "v"}, project_id=project.id)
    with session_scope(session_factory) as session:
        session.delete(session.get(Project, project.id))
    with session_scope(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


@pytest.mark.usefixtures("effects_table")
def test_an_attempt_that_lost_its_lease_cannot_commit_its_effects(
    session_factory: SessionFactory, make_runner: Runner
) -> None:
    job_id = _enqueue(session_factory, "test.write_effects", {"rows": 4})
    zombie_lease = jobq.lease_next(session_factory, "zombie:1:abc", ["test.write_effects"], lease_s=-1)
    assert zombie_lease is not None
    zombie = JobContext(zombie_lease, session_factory, lease_s=30, stopping=threading.Event())
    runner = make_runner()
    runner.heartbeat_once()  # the zombie's lease expired: reclaimed
    assert runner.run_until_idle() == 1  # attempt 2 writes 4 rows and completes

    with pytest.raises(LeaseLost), session_scope(session_factory) as session:
        session.execute(insert(job_tasks.job_effects).values(job_id=job_id, attempt=1, n=99))
        zombie.finish_in(session, result={"rows": 999})

    with pytest.raises(LeaseLost):
        zombie.check_cancelled()
    job = _job(session_factory, job_id)
    assert (job.status, job.attempts, job.result) == ("succeeded", 2, {"rows": 4})
    with session_scope(session_factory) as session:
        attempts = session.scalars(
            select(job_tasks.job_effects.c.attempt).where(job_tasks.job_effects.c.job_id == job_id)
        ).all()
    assert attempts == [2, 2, 2, 2]
