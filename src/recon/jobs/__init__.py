"""Durable jobs on the database (ADR 0002).

    from recon.jobs import task, enqueue, JobContext, JobCancelled

    @task("ingest_dataset", max_attempts=3)
    def ingest_dataset(ctx: JobContext, dataset_id: str) -> None: ...

    job = enqueue(session, "ingest_dataset", {"dataset_id": id}, project_id=..., created_by=...)

Workers (`recon.worker`) lease, heartbeat, retry and reclaim; the API reads the same `jobs` table.
"""

from __future__ import annotations

from recon.jobs.context import JobContext
from recon.jobs.errors import JobCancelled, JobFailed, LeaseLost, WorkerStopping
from recon.jobs.queue import enqueue
from recon.jobs.registry import TASK_MODULES, get_task, load_task_modules, registered_kinds, task

__all__ = [
    "TASK_MODULES",
    "JobCancelled",
    "JobContext",
    "JobFailed",
    "LeaseLost",
    "WorkerStopping",
    "enqueue",
    "get_task",
    "load_task_modules",
    "registered_kinds",
    "task",
]
