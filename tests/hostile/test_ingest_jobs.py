"""Hostile jobs, on SQLite and PostgreSQL, with every job in its own child process (JOB_ISOLATION=process):
a running job that never checks for cancellation is cancelled at once; wall time and memory are capped and a
job past its cap fails with that reason, without retries; another project's 17-byte upload finishes while
one project's heavy jobs run; permanent ingestion errors fail at once, transient ones are retried."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import hostile_tasks
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from recon.app import create_app
from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.datasets import tasks as dataset_tasks
from recon.jobs.queue import enqueue
from recon.models import Dataset, Project, User
from recon.models.jobs import Job
from recon.worker.embedded import runner_from_settings
from recon.worker.runner import WorkerRunner

assert hostile_tasks.busy  # importing registers the test tasks
Headers = Callable[[User | str], dict[str, str]]
SMALL_CSV = b"id,amount\nA1,1.5\n"  # 17 bytes


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        embedded_worker=False,  # the test's own runner runs the jobs
        job_isolation="process",
        job_lease_s=6.0,
        worker_concurrency=2,
        job_memory_max_bytes=512 * 2**20,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def start_runner(
    settings: Settings, session_factory: SessionFactory
) -> Iterator[Callable[..., WorkerRunner]]:
    runners: list[WorkerRunner] = []

    def start(**overrides: Any) -> WorkerRunner:
        runner = runner_from_settings(settings.model_copy(update=overrides), session_factory)
        runner.poll_interval_s = 0.05
        runner.start()
        runners.append(runner)
        return runner

    yield start
    for runner in runners:
        runner.stop(grace_s=5)


def _enqueue(factory: SessionFactory, kind: str, project_id: str, **payload: Any) -> str:
    with session_scope(factory) as session:
        return enqueue(session, kind, payload, project_id=project_id).id


def _job(factory: SessionFactory, job_id: str) -> Job:
    with session_scope(factory) as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def _wait(predicate: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_cancel_stops_a_running_job_that_never_checks(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
    session_factory: SessionFactory,
    start_runner: Callable[..., WorkerRunner],
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    job_id = _enqueue(session_factory, "hostile.busy", project.id, seconds=300.0)
    start_runner()
    _wait(lambda: _job(session_factory, job_id).status == "running", "the job to run")
    time.sleep(0.5)

    asked = time.monotonic()
    answer = client.post(f"/api/v1/jobs/{job_id}/cancel", headers=auth_headers(preparer))
    assert answer.status_code == 200, answer.text
    _wait(lambda: _job(session_factory, job_id).status == "cancelled", "the cancellation", 30)
    took = time.monotonic() - asked
    job = _job(session_factory, job_id)
    assert job.attempts == 1 and job.finished_at is not None
    assert took < 15, f"cancel took {took:.1f} s"  # a check each second, then at most 2 s of grace


def test_a_job_past_its_wall_time_cap_fails_with_that_reason(
    make_project: Callable[..., Project],
    session_factory: SessionFactory,
    start_runner: Callable[..., WorkerRunner],
) -> None:
    project = make_project()
    job_id = _enqueue(session_factory, "hostile.busy", project.id, seconds=300.0)
    start_runner(job_timeout_s=2.0)
    _wait(lambda: _job(session_factory, job_id).status == "failed", "the time cap", 60)
    job = _job(session_factory, job_id)
    assert job.attempts == 1  # over a cap is permanent: a retry would hold a worker as long again
    assert job.error == "the job ran past its wall-time cap of 2 s (setting JOB_TIMEOUT_S)"


def test_a_job_past_its_memory_cap_fails_with_that_reason(
    make_project: Callable[..., Project],
    session_factory: SessionFactory,
    start_runner: Callable[..., WorkerRunner],
) -> None:
    project = make_project()
    job_id = _enqueue(session_factory, "hostile.allocate", project.id, mib=2048)  # cap: 512 MiB
    start_runner()
    _wait(lambda: _job(session_factory, job_id).status == "failed", "the memory cap", 60)
    job = _job(session_factory, job_id)
    assert job.attempts == 1
    assert job.error == "the job went past its memory cap of 512 MiB (setting JOB_MEMORY_MAX_BYTES)"


def test_another_projects_small_upload_finishes_while_heavy_jobs_run(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
    session_factory: SessionFactory,
    start_runner: Callable[..., WorkerRunner],
) -> None:
    heavy, small = make_project(), make_project()
    heavy_jobs = [_enqueue(session_factory, "hostile.busy", heavy.id, seconds=300.0) for _ in range(3)]
    start_runner()  # two slots; one project runs at most one job at a time (WORKER_CONCURRENCY - 1)
    _wait(lambda: _job(session_factory, heavy_jobs[0]).status == "running", "the heavy job")

    preparer = make_user(role="preparer", project=small)
    created = client.post(
        f"/api/v1/projects/{small.id}/datasets",
        files={"file": ("small.csv", SMALL_CSV, "text/csv")},
        headers=auth_headers(preparer),
    )
    assert created.status_code in (201, 202), created.text
    dataset_id = created.json()["id"]

    def ready() -> bool:
        with session_scope(session_factory) as session:
            dataset = session.get(Dataset, dataset_id)
            assert dataset is not None and dataset.status != "failed", dataset.error if dataset else None
            return dataset.status == "ready"

    _wait(ready, "the small upload", 60)
    states = [_job(session_factory, job_id).status for job_id in heavy_jobs]
    assert states.count("running") == 1 and states.count("queued") == 2, states
    with session_scope(session_factory) as session:  # end the heavy jobs quickly
        session.execute(update(Job).where(Job.id.in_(heavy_jobs)).values(cancel_requested=True))


@pytest.mark.parametrize(
    ("data", "filename", "reason"),
    [
        (b'[{"id": "A1", "amount": 1, "memo": "\\ud800"}]', "lone.json", "lone surrogate"),
        (
            b"id,amount," + b",".join(b"c%d" % i for i in range(5000)) + b"\nA1,1\n",
            "wide.csv",
            "INGEST_MAX_COLUMNS",
        ),
    ],
)
def test_permanent_ingestion_errors_fail_at_once(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
    session_factory: SessionFactory,
    start_runner: Callable[..., WorkerRunner],
    data: bytes,
    filename: str,
    reason: str,
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    created = client.post(
        f"/api/v1/projects/{project.id}/datasets",
        files={"file": (filename, data, "application/octet-stream")},
        headers=auth_headers(preparer),
    ).json()
    start_runner()
    _wait(lambda: _job(session_factory, created["job_id"]).status == "failed", "the failure", 60)
    job = _job(session_factory, created["job_id"])
    assert job.attempts == 1, job.error
    dataset = client.get(
        f"/api/v1/projects/{project.id}/datasets/{created['id']}", headers=auth_headers(preparer)
    ).json()
    assert dataset["status"] == "failed" and reason in dataset["error"]
    assert dataset["error"].startswith(filename)  # the upload's name, not a path on the server
    assert "/" not in dataset["error"].split(":")[0]


def test_transient_ingestion_errors_are_retried(
    make_settings: Callable[..., Settings],
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
    session_factory: SessionFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def storage_down(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError("storage I/O: connection reset by peer")

    monkeypatch.setattr(dataset_tasks, "parse_dataset", storage_down)  # in this process: thread isolation
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    created = client.post(
        f"/api/v1/projects/{project.id}/datasets",
        files={"file": ("small.csv", SMALL_CSV, "text/csv")},
        headers=auth_headers(preparer),
    ).json()
    runner = runner_from_settings(make_settings(job_isolation="thread"), session_factory, concurrency=1)
    assert runner.run_until_idle() == 1
    job = _job(session_factory, created["job_id"])
    assert (job.status, job.attempts) == ("queued", 1)  # retried later (backoff), not failed
    assert job.error is not None and "storage I/O" not in job.error and "OSError" in job.error


def test_thread_isolation_caps_wall_time_at_the_tasks_checks(
    make_settings: Callable[..., Settings],
    make_project: Callable[..., Project],
    session_factory: SessionFactory,
) -> None:
    project = make_project()
    job_id = _enqueue(session_factory, "hostile.steps", project.id, seconds=120.0)
    settings = make_settings(embedded_worker=False, job_isolation="thread", job_timeout_s=1.0)
    runner = runner_from_settings(settings, session_factory, concurrency=1)
    assert runner.run_until_idle() == 1
    job = _job(session_factory, job_id)
    assert (job.status, job.attempts) == ("failed", 1)
    assert job.error == "the job ran past its wall-time cap of 1 s (setting JOB_TIMEOUT_S)"
