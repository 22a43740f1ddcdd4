"""A job's child process starts without importing the parent's main script again (the cost that made every
job take over a second), and the worker starts the forkserver when it starts, before any job."""

from __future__ import annotations

import os
import time
from multiprocessing import forkserver

import job_tasks
import pytest

from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.jobs import enqueue
from recon.models.jobs import Job
from recon.worker.runner import WorkerRunner

assert job_tasks.process_facts  # importing registers the task
KIND = "test.process_facts"
pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


def test_child_runs_the_task_without_the_main_script(
    settings: Settings, session_factory: SessionFactory
) -> None:
    runner = WorkerRunner(session_factory, settings=settings, isolation="process", kinds=[KIND])
    with session_scope(session_factory) as session:
        job_id = enqueue(session, "test.process_facts").id
    assert runner.run_until_idle() == 1
    with session_scope(session_factory) as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == "succeeded", (job and job.status, job and job.error)
        assert job.result is not None
        assert job.result["pid"] != os.getpid()
        assert job.result["main_file"] is None  # not pytest's script: the child did not import it


def test_worker_start_starts_the_forkserver(settings: Settings, session_factory: SessionFactory) -> None:
    forkserver._forkserver._stop()  # type: ignore[attr-defined]  # a fresh one, started by the worker
    runner = WorkerRunner(session_factory, settings=settings, isolation="process", kinds=[KIND])
    runner.start()
    try:
        deadline = time.monotonic() + 120
        while forkserver._forkserver._forkserver_pid is None:  # type: ignore[attr-defined]
            assert time.monotonic() < deadline, "the worker did not start the forkserver"
            time.sleep(0.05)
    finally:
        runner.stop(grace_s=5)
