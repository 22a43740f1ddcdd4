"""The `run_execute` job: load the pinned inputs, reconcile, and store the results.

Crash safety: the groups, the run's final status and summary, the audit event and the job's success commit
together (`ctx.finish_in`), fenced by the job's lease and by `run.job_id`, in a transaction that holds the
run's row lock from before the first result row is written. On SQLite the items commit in it too; on
PostgreSQL they are written on a second connection and committed just before it (recon.runs.persist). No
reader sees any result row of a run that has not succeeded, so a worker killed at any point leaves the run
without visible results (never part of them): the retried attempt re-executes the engine, which is
deterministic, deletes whatever an earlier attempt committed, and writes identical rows; a run that ends
failed or cancelled has its rows deleted.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from recon.audit.service import record_entity_event
from recon.core.db import session_scope
from recon.core.resources import engine_memory_limit
from recon.core.time import utcnow
from recon.engine import EngineError, InputError, RulesError
from recon.jobs import JobCancelled, JobContext, JobFailed, task
from recon.jobs.errors import public_error
from recon.jobs.names import RUN_EXECUTE
from recon.models.jobs import Job
from recon.models.runs import Run, RunStatus
from recon.observability.metrics import observe_run
from recon.observability.tracing import pass_spans, span
from recon.runs.repository import delete_results
from recon.storage import get_store

if TYPE_CHECKING:
    from datetime import datetime

    from recon.engine import ProgressEvent, Reconciliation
    from recon.runs.execute import Inputs
    from recon.runs.outcome import BuiltItems, Outcome
    from recon.runs.persist import CarryMap


# The steps that need the data stack, imported on first call (tests replace these module attributes).
def run_engine(
    inputs: Inputs, progress: Callable[[ProgressEvent], None], temp_dir: str, memory_limit: str | None = None
) -> Reconciliation:
    from recon.runs.execute import run_engine as run

    return run(inputs, progress, temp_dir, memory_limit)


def write_results(
    session: Session, run: Run, built: BuiltItems, now: datetime, carry: CarryMap | None = None
) -> Outcome:
    from recon.runs.persist import write_built_results as write

    return write(session, run, built, now, carry)


log = structlog.get_logger("recon.runs")
ENTITY = "run"
RECORD_RESULTS = ("matched", "suggested", "break", "unmatched", "duplicate", "rejected")


def _locked_run(session: Session, run_id: str) -> Run | None:
    return session.scalar(select(Run).where(Run.id == run_id).with_for_update())


def _duration(run: Run) -> float:
    return (utcnow() - run.started_at).total_seconds() if run.started_at else 0.0


def _finish_unsuccessful(session: Session, job: Job, status: RunStatus, error: str | None) -> None:
    run = _locked_run(session, str(job.payload.get("run_id")))
    if run is None or run.job_id != job.id or run.status.is_final:
        return  # deleted, retried meanwhile, or already final
    run.status = status
    run.error = error
    run.finished_at = utcnow()
    # Rows an attempt committed before its run could succeed (PostgreSQL: recon.runs.persist): a run that
    # never succeeded has no results.
    delete_results(session, run.id)
    record_entity_event(
        session,
        ENTITY,
        run,
        f"run.{status.value}",
        actor_id=job.created_by,
        data={"error": error, "job_id": job.id, "attempts": job.attempts, "attempt": run.attempt},
    )
    observe_run(_duration(run), status.value)


def _mark_failed(session: Session, job: Job) -> None:
    """Final failure (retries exhausted, the last attempt's worker died, or a user error)."""
    _finish_unsuccessful(session, job, RunStatus.FAILED, job.error or "the run failed")


def _mark_cancelled(session: Session, job: Job) -> None:
    _finish_unsuccessful(session, job, RunStatus.CANCELLED, None)


def _start(ctx: JobContext, run_id: str) -> bool:
    """Mark the run running; False when this job no longer owns it (the run was retried with a new job)."""
    with session_scope(ctx.session_factory) as session:
        run = _locked_run(session, run_id)
        if run is None or run.job_id != ctx.job_id or run.status.is_final:
            ctx.finish_in(session, message="nothing to do: the run was deleted, finished or retried")
            return False
        run.status = RunStatus.RUNNING
        run.started_at = run.started_at or utcnow()
        run.error = None
        run.progress = {"phase": "loading", "passes": []}
    return True


def _note_retry(ctx: JobContext, run_id: str, error: str) -> None:
    """A failed attempt that will be retried: the run waits in `queued` with the error of the attempt."""
    with session_scope(ctx.session_factory) as session:
        run = _locked_run(session, run_id)
        if run is not None and run.job_id == ctx.job_id and not run.status.is_final:
            run.status = RunStatus.QUEUED
            run.error = f"attempt {ctx.attempt} failed (will be retried): {error}"[:4000]


def _summary(
    run: Run, inputs: Inputs, engine_summary: dict[str, Any], phases: dict[str, float]
) -> dict[str, Any]:
    left, right = inputs.datasets["left"], inputs.datasets["right"]
    return {
        **engine_summary,
        "run_id": run.id,
        "ruleset": {"id": run.ruleset_id, "version": run.ruleset_version, "sha256": inputs.version.sha256},
        "inputs": {
            "left_sha256": left.sha256,
            "right_sha256": right.sha256,
            "rules_sha256": inputs.version.sha256,
            "left_dataset_id": left.id,
            "right_dataset_id": right.id,
            "left_file": left.filename,
            "right_file": right.filename,
        },
        "elapsed_s": round(sum(phases.values()), 3),
        "phases_s": {name: round(value, 3) for name, value in phases.items()},
    }


@task(RUN_EXECUTE, max_attempts=3, on_failure=_mark_failed, on_cancel=_mark_cancelled)
def run_execute(ctx: JobContext, run_id: str) -> None:
    if not _start(ctx, run_id):
        return
    try:
        with span("run.execute", run_id=run_id, attempt=ctx.attempt):
            _execute(ctx, run_id)
    except (JobCancelled, JobFailed):
        raise
    except Exception as exc:
        if ctx.attempt < ctx.lease.max_attempts:
            _note_retry(ctx, run_id, public_error(exc, ctx.job_id))
        raise


def _execute(ctx: JobContext, run_id: str) -> None:
    # Local: the data stack (pyarrow, numpy, the engine) loads where runs execute. `enqueue` imports this
    # module to check payloads, so the API process (whose image has no data stack) must import it cheaply.
    from recon.runs.execute import InputProblem, ProgressWriter, load_inputs
    from recon.runs.outcome import build_items

    factory = ctx.session_factory
    phases: dict[str, float] = {}
    writer = ProgressWriter(factory, run_id, ctx.job_id, on_event=lambda event: _on_pass(ctx, event))
    ctx.progress(0.02, "loading the datasets")
    started = time.perf_counter()
    try:
        inputs = load_inputs(factory, run_id, get_store(ctx.settings))
    except (InputProblem, RulesError) as exc:
        raise JobFailed(str(exc)) from exc
    phases["load"] = time.perf_counter() - started
    ctx.check_cancelled()

    writer.phase("matching")
    ctx.progress(0.1, "matching")
    started = time.perf_counter()
    spill_root = Path(ctx.settings.data_dir) / "spill"
    spill_root.mkdir(parents=True, exist_ok=True)
    try:
        with pass_spans(forward=writer) as on_progress, tempfile.TemporaryDirectory(dir=spill_root) as spill:
            result = run_engine(inputs, on_progress, spill, engine_memory_limit(ctx.settings))
    except (RulesError, InputError) as exc:
        raise JobFailed(f"the datasets cannot be reconciled with these rules: {exc}") from exc
    except EngineError as exc:  # deterministic: a retry would fail the same way
        raise JobFailed(f"the engine's checks failed: {exc}") from exc
    phases["match"] = time.perf_counter() - started

    started = time.perf_counter()
    built = build_items(result, inputs.sides)  # the groups and the digest: while the items are written
    phases["build"] = time.perf_counter() - started
    ctx.check_cancelled()
    writer.phase("persisting")
    ctx.progress(0.85, f"storing {built.group_count} groups and {built.items.num_rows} items")

    started = time.perf_counter()
    with session_scope(factory) as session:
        run = _locked_run(session, run_id)
        if run is None or run.job_id != ctx.job_id:
            ctx.finish_in(session, message="nothing to do: the run was deleted or retried meanwhile")
            return
        outcome = write_results(session, run, built, utcnow(), inputs.carry)
        phases["persist"] = time.perf_counter() - started
        summary = _summary(run, inputs, result.summary, phases)
        run.status = RunStatus.SUCCEEDED
        run.summary = summary
        run.results_sha256 = outcome.digest
        run.error = None
        run.finished_at = utcnow()
        run.progress = {**writer.doc, "phase": "done"}
        record_entity_event(
            session,
            ENTITY,
            run,
            "run.succeeded",
            actor_id=run.created_by_id,
            data={
                "groups": outcome.groups.num_rows,
                "items": outcome.items.num_rows,
                "results_sha256": outcome.digest,
                "job_id": ctx.job_id,
                "attempt": run.attempt,
            },
        )
        ctx.finish_in(session, result={"groups": outcome.groups.num_rows, "items": outcome.items.num_rows})
        duration = _duration(run)
        committing = time.perf_counter()
    # the groups, the flip to succeeded and the audit commit here (not in summary.phases_s: after it)
    commit_s = time.perf_counter() - committing
    observe_run(duration, "succeeded", _record_counts(summary))
    log.info(
        "run_succeeded",
        run_id=run_id,
        commit_s=round(commit_s, 3),
        **{f"{k}_s": round(v, 3) for k, v in phases.items()},
    )


def _on_pass(ctx: JobContext, event: ProgressEvent) -> None:
    """Job progress between 0.1 and 0.8 over the passes; a requested cancellation stops the engine here."""
    done = event.pass_index + (1 if event.stage == "done" else 0)
    ctx.progress(0.1 + 0.7 * done / max(event.passes, 1), f"pass {event.pass_name}: {event.stage}")
    ctx.check_cancelled()


def _record_counts(summary: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {
        (side, key): int(summary[side].get(key) or 0) for side in ("left", "right") for key in RECORD_RESULTS
    }
