"""Dry run: a rule set version against two ready datasets, returning the engine's summary.

The request validates (rule set, version, datasets ready and within DRY_RUN_MAX_ROWS), then the engine runs
as a `ruleset_dry_run` job on a worker (the API process carries no data stack) and the request waits for its
result, so the HTTP contract is that of a synchronous call. Nothing is stored (no run, no results, no audit
event; the transient job row is deleted once read). Larger datasets go through a real run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from recon.auth.access import ProjectAccess
from recon.core.db import SessionFactory, session_scope
from recon.core.errors import FieldError, ServiceUnavailable, Unprocessable
from recon.datasets.service import ready_input_dataset
from recon.jobs import enqueue
from recon.jobs.names import RULESET_DRY_RUN
from recon.models import Dataset, DatasetRejection, RuleSet, RuleSetVersion
from recon.models.jobs import Job, JobStatus
from recon.rulesets.schemas import DryRunRequest, DryRunResult
from recon.rulesets.service import RuleSetService, parse_or_422

if TYPE_CHECKING:
    import pyarrow as pa

log = structlog.get_logger("recon.rulesets")


def _dataset(session: Session, project_id: str, dataset_id: str, field: str, max_rows: int) -> Dataset:
    dataset = ready_input_dataset(session, project_id, dataset_id, field=field, needed_by="a dry run")
    size = dataset.rows + dataset.rejected
    if size > max_rows:
        raise Unprocessable(
            f"dataset {dataset.name!r} has {size} records; dry runs are limited to {max_rows} per side. "
            "Start a run instead (it runs as a job).",
            errors=[FieldError(field=field, message=f"{size} records > dry-run limit {max_rows}")],
        )
    return dataset


def rejected_arrow(session: Session, dataset: Dataset) -> pa.Table | None:
    """One row per rejected record (`_row`, `_reason` joining its problems), as the engine counts them."""
    if not dataset.rejected:
        return None
    import pyarrow as pa  # local, like the engine: the API process loads the data stack on first use

    reasons: dict[int, list[str]] = {}
    rows = session.execute(
        select(DatasetRejection.row_no, DatasetRejection.column, DatasetRejection.reason)
        .where(DatasetRejection.dataset_id == dataset.id)
        .order_by(DatasetRejection.seq)
    )
    for row_no, column, reason in rows:
        reasons.setdefault(row_no, []).append(f"{column}: {reason}" if column else reason)
    return pa.table(
        {
            "_row": pa.array(list(reasons), pa.int64()),
            "_reason": pa.array(["; ".join(r) for r in reasons.values()], pa.string()),
        }
    )


@dataclass(frozen=True)
class DryRunInputs:
    ruleset: RuleSet
    version: RuleSetVersion
    left: Dataset
    right: Dataset


def dry_run_inputs(
    session: Session, access: ProjectAccess, ruleset_id: str, body: DryRunRequest, *, max_rows: int
) -> DryRunInputs:
    """The version and the two ready datasets the command names (404, 422 or 409 naming its fields)."""
    service = RuleSetService(session)
    ruleset = service.get(access, ruleset_id)
    version = service.versions.get_version_or_404(ruleset, body.version or ruleset.latest_version)
    project_id = access.project.id
    left = _dataset(session, project_id, body.left_dataset_id, "left_dataset_id", max_rows)
    right = _dataset(session, project_id, body.right_dataset_id, "right_dataset_id", max_rows)
    return DryRunInputs(ruleset, version, left, right)


def dry_run(
    session: Session,
    access: ProjectAccess,
    inputs: DryRunInputs,
    *,
    factory: SessionFactory,
    timeout_s: float,
) -> DryRunResult:
    """Reconcile the inputs on a worker while the caller waits; the rules' problems are 422s naming their
    place in the rule text (not fields of the command)."""
    ruleset, version, left, right = inputs.ruleset, inputs.version, inputs.left, inputs.right
    parse_or_422(version.text, source=f"{ruleset.name} v{version.version}")
    project_id = access.project.id
    payload = {"ruleset_version_id": version.id, "left_dataset_id": left.id, "right_dataset_id": right.id}
    with session_scope(factory) as own:  # committed now: a worker can lease it while this request waits
        job_id = enqueue(own, RULESET_DRY_RUN, payload, project_id=project_id, created_by=access.user.id).id
    result = _wait(factory, job_id, timeout_s)
    if "problem" in result:
        raise Unprocessable(result["problem"]["detail"], errors=result["problem"]["errors"])
    summary: dict[str, Any] = dict(result["summary"])
    summary["inputs"] = {
        "left_sha256": left.sha256,
        "right_sha256": right.sha256,
        "rules_sha256": version.sha256,
        "left_file": left.filename,
        "right_file": right.filename,
        "left_dataset_id": left.id,
        "right_dataset_id": right.id,
        "ruleset_id": ruleset.id,
        "ruleset_version": version.version,
    }
    elapsed = float(result["elapsed_s"])
    log.info("ruleset_dry_run", ruleset_id=ruleset.id, version=version.version, elapsed_s=round(elapsed, 3))
    return DryRunResult(ruleset_id=ruleset.id, version=version.version, summary=summary, elapsed_s=elapsed)


def _wait(factory: SessionFactory, job_id: str, timeout_s: float) -> dict[str, Any]:
    """The finished job's result (its row deleted); 503 when no worker finished it in time."""
    deadline = time.monotonic() + timeout_s
    pause = 0.02
    while True:
        timed_out = False
        with session_scope(factory) as own:
            job = own.get(Job, job_id)
            if job is not None and job.status.is_final:
                status, result, error = job.status, job.result, job.error
                own.execute(delete(Job).where(Job.id == job_id))
                break
            if time.monotonic() >= deadline:
                timed_out = True
                if job is not None and job.status == JobStatus.QUEUED:
                    own.execute(delete(Job).where(Job.id == job_id))  # nobody took it: forget it
                elif job is not None:
                    job.cancel_requested = True  # the worker stops it; its row stays as a record
        if timed_out:
            raise ServiceUnavailable(
                f"the dry run did not finish within {timeout_s:g} s (DRY_RUN_TIMEOUT_S); are workers "
                "running and idle? Try again, or start a run"
            )
        time.sleep(pause)
        pause = min(pause * 1.5, 0.25)
    if status != JobStatus.SUCCEEDED or result is None:
        raise ServiceUnavailable(f"the dry run failed on the worker: {(error or status)[:300]}")
    return result
