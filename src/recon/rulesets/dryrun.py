"""Dry run: a rule set version against two ready datasets, in the request, returning the engine's summary.

Nothing is stored (no run, no results, no audit event). Both sides are bounded by DRY_RUN_MAX_ROWS so the
request stays short; larger datasets go through a real run (a job).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from recon.auth.dependencies import ProjectAccess
from recon.core.errors import Conflict, FieldError, Unprocessable
from recon.engine import InputError, RulesError
from recon.models import Dataset, DatasetRejection, DatasetStatus
from recon.rulesets.schemas import DryRunRequest, DryRunResult
from recon.rulesets.service import RuleSetService, invalid_rules, parse_or_422

if TYPE_CHECKING:
    import pyarrow as pa

log = structlog.get_logger("recon.rulesets")


def _dataset(session: Session, project_id: str, dataset_id: str, field: str, max_rows: int) -> Dataset:
    dataset = session.scalar(
        select(Dataset).where(Dataset.id == dataset_id, Dataset.project_id == project_id)
    )
    if dataset is None:
        raise Unprocessable(
            "a dataset of the dry run does not exist in this project",
            errors=[FieldError(field=f"body.{field}", message=f"no dataset {dataset_id!r} in this project")],
        )
    if dataset.status != DatasetStatus.READY.value:
        raise Conflict(
            f"dataset {dataset.name!r} ({field}) is {dataset.status}; a dry run needs ready datasets"
        )
    size = dataset.rows + dataset.rejected
    if size > max_rows:
        raise Unprocessable(
            f"dataset {dataset.name!r} has {size} records; dry runs are limited to {max_rows} per side. "
            "Start a run instead (it runs as a job).",
            errors=[FieldError(field=f"body.{field}", message=f"{size} records > dry-run limit {max_rows}")],
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


def dry_run(
    session: Session, access: ProjectAccess, ruleset_id: str, body: DryRunRequest, max_rows: int
) -> DryRunResult:
    # Local: the engine (DuckDB, SciPy, pyarrow) loads with the first dry run, not with the API process.
    from recon.datasets.bulk import load_dataset_arrow
    from recon.engine import reconcile

    service = RuleSetService(session)
    ruleset = service.get(access, ruleset_id)
    version = service.versions.get_version_or_404(ruleset, body.version or ruleset.latest_version)
    rules = parse_or_422(version.text, source=f"{ruleset.name} v{version.version}")
    project_id = access.project.id
    left = _dataset(session, project_id, body.left_dataset_id, "left_dataset_id", max_rows)
    right = _dataset(session, project_id, body.right_dataset_id, "right_dataset_id", max_rows)
    started = time.perf_counter()
    try:
        result = reconcile(
            load_dataset_arrow(session, left),
            load_dataset_arrow(session, right),
            rules,
            left_rejected=rejected_arrow(session, left),
            right_rejected=rejected_arrow(session, right),
            threads=1,  # inside a request: leave the other core to the API and the workers
        )
    except RulesError as exc:
        raise invalid_rules(exc, "the rules do not fit these datasets") from None
    except InputError as exc:
        raise Unprocessable(f"the datasets cannot be reconciled with these rules: {exc}") from None
    elapsed = time.perf_counter() - started
    summary: dict[str, Any] = dict(result.summary)
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
    log.info("ruleset_dry_run", ruleset_id=ruleset.id, version=version.version, elapsed_s=round(elapsed, 3))
    return DryRunResult(ruleset_id=ruleset.id, version=version.version, summary=summary, elapsed_s=elapsed)
