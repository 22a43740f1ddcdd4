"""Tasks of the jobs tests (imported by the tests, and by worker processes via `--import job_tasks`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.orm import Session

from recon.core.db import session_scope
from recon.jobs import JobContext, JobFailed, task
from recon.models.jobs import Job

# A table only the tests use: the effects a task writes (created and dropped by the tests).
effects_metadata = MetaData()
job_effects = Table(
    "test_job_effects",
    effects_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(36), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("n", Integer, nullable=False),
)


def _note(message: str) -> Callable[[Session, Job], None]:
    """on_failure / on_cancel hooks record that they ran in the job's final transaction."""

    def hook(session: Session, job: Job) -> None:
        job.message = f"{message} (attempts={job.attempts})"

    return hook


@task("test.echo")
def echo(ctx: JobContext, value: str) -> dict[str, str]:
    ctx.progress(0.5, "halfway")
    return {"value": value, "attempt": str(ctx.attempt), "environment": ctx.settings.environment}


@task("test.flaky", max_attempts=3, retry_backoff_s=0.0, on_failure=_note("hook: failed"))
def flaky(ctx: JobContext, fail_times: int) -> None:
    if ctx.attempt <= fail_times:
        raise RuntimeError(f"boom on attempt {ctx.attempt}")


@task("test.bad_input", max_attempts=5, on_failure=_note("hook: failed"))
def bad_input(ctx: JobContext) -> None:
    raise JobFailed("column 'amount' is missing")


@task("test.until_cancelled", max_attempts=2, on_cancel=_note("hook: cancelled"))
def until_cancelled(ctx: JobContext, marker: str, limit_s: float = 60.0) -> None:
    """Signals it is running (marker file), then cooperates with cancellation / shutdown."""
    Path(marker).write_text(str(ctx.attempt))
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        ctx.check_cancelled()
        time.sleep(0.02)
    raise RuntimeError("never cancelled")


@task("test.write_effects", max_attempts=3, retry_backoff_s=0.0, on_failure=_note("hook: failed"))
def write_effects(ctx: JobContext, rows: int, stall_attempt: int = 0, marker: str = "") -> dict[str, int]:
    """Writes `rows` effect rows and completes the job in ONE transaction. On `stall_attempt` it stops
    halfway (rows flushed, not committed), signals through `marker` and waits to be killed."""
    ctx.progress(0.1, "writing")
    with session_scope(ctx.session_factory) as session:
        half = rows // 2
        for n in range(half):
            session.execute(insert(job_effects).values(job_id=ctx.job_id, attempt=ctx.attempt, n=n))
        session.flush()
        if ctx.attempt == stall_attempt:
            Path(marker).write_text(str(ctx.attempt))
            time.sleep(600)  # the test kills the process here
        for n in range(half, rows):
            session.execute(insert(job_effects).values(job_id=ctx.job_id, attempt=ctx.attempt, n=n))
        written = session.scalar(
            select(func.count()).select_from(job_effects).where(job_effects.c.job_id == ctx.job_id)
        )
        ctx.finish_in(session, result={"rows": int(written or 0)}, message="written")
    return {"rows": rows}


@task("test.process_facts", max_attempts=1)
def process_facts(ctx: JobContext) -> dict[str, object]:
    """What a job's process looks like: its pid and the file of its main module (the parent's script, had
    the child imported that again)."""
    import os
    import sys

    main = sys.modules.get("__mp_main__")
    return {"pid": os.getpid(), "main_file": getattr(main, "__file__", None)}
