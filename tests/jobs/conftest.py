"""Fixtures of the jobs tests: the test tasks, the effects table, runners that are always stopped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import job_tasks
import pytest
from sqlalchemy import Engine

from recon.config import Settings
from recon.core.db import SessionFactory
from recon.worker.runner import WorkerRunner

assert job_tasks.echo  # importing registers the test tasks


@pytest.fixture
def effects_table(db_engine: Engine) -> Iterator[None]:
    job_tasks.effects_metadata.create_all(db_engine)
    yield
    job_tasks.effects_metadata.drop_all(db_engine)


@pytest.fixture
def make_runner(session_factory: SessionFactory, settings: Settings) -> Iterator[Callable[..., WorkerRunner]]:
    """make_runner(**kwargs) -> a WorkerRunner on the test database (stopped after the test if started)."""
    runners: list[WorkerRunner] = []

    def make(**kwargs: Any) -> WorkerRunner:
        kwargs.setdefault("lease_s", 30.0)
        kwargs.setdefault("poll_interval_s", 0.05)
        kwargs.setdefault("settings", settings)
        runner = WorkerRunner(session_factory, **kwargs)
        runners.append(runner)
        return runner

    yield make
    for runner in runners:
        if runner._threads:
            runner.stop(grace_s=5)
