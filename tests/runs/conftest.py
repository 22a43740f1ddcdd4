"""Fixtures of the runs tests: a project with a preparer and the demo datasets and rule set uploaded; a
worker runner that a test drains itself (for modules whose settings have no embedded worker)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from run_helpers import scene_fixture

from recon.config import Settings
from recon.core.db import SessionFactory
from recon.worker.runner import WorkerRunner

scene = scene_fixture()


@pytest.fixture
def runner(session_factory: SessionFactory, settings: Settings) -> Iterator[WorkerRunner]:
    worker = WorkerRunner(session_factory, settings=settings, lease_s=30, poll_interval_s=0.05)
    yield worker
    if worker._threads:
        worker.stop(grace_s=5)


@pytest.fixture
def drain(runner: WorkerRunner) -> Callable[[], object]:
    return runner.run_until_idle
