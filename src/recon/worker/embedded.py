"""The embedded mode: the API process runs the worker threads (EMBEDDED_WORKER=true, the default)."""

from __future__ import annotations

from recon.config import Settings
from recon.core.db import SessionFactory
from recon.worker.runner import WorkerRunner


def start_embedded_worker(settings: Settings, session_factory: SessionFactory) -> WorkerRunner | None:
    """Start `WORKER_CONCURRENCY` worker threads when EMBEDDED_WORKER is on; None otherwise."""
    if not settings.embedded_worker:
        return None
    runner = runner_from_settings(settings, session_factory)
    runner.start()
    return runner


def runner_from_settings(
    settings: Settings,
    session_factory: SessionFactory,
    *,
    concurrency: int | None = None,
    extra_task_modules: tuple[str, ...] = (),
) -> WorkerRunner:
    return WorkerRunner(
        session_factory,
        concurrency=concurrency or settings.worker_concurrency,
        lease_s=settings.job_lease_s,
        poll_interval_s=settings.job_poll_interval_s,
        extra_task_modules=extra_task_modules,
        settings=settings,
        isolation=settings.job_isolation,
        max_running_per_project=per_project_cap(settings, concurrency or settings.worker_concurrency),
    )


def per_project_cap(settings: Settings, concurrency: int) -> int:
    """JOB_MAX_RUNNING_PER_PROJECT, or one slot fewer than the worker has (so another project always finds
    one free), at least 1."""
    return settings.job_max_running_per_project or max(concurrency - 1, 1)
