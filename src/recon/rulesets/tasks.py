"""The dry-run job: the engine runs where the data stack is (a worker), not in the API process.

`recon.rulesets.dryrun` enqueues `ruleset_dry_run` and waits for it; the job's `result` carries the summary,
or the 422 problem when the rules do not fit the datasets (a user error: finished, not failed or retried).
"""

from __future__ import annotations

import time
from typing import Any

import structlog

from recon.core.db import session_scope
from recon.core.errors import FieldError, Unprocessable
from recon.core.resources import engine_memory_limit
from recon.jobs import JobContext, task
from recon.jobs.names import RULESET_DRY_RUN
from recon.models import Dataset, RuleSetVersion
from recon.rulesets.service import invalid_rules, parse_or_422

log = structlog.get_logger("recon.rulesets")


def problem_doc(error: Unprocessable) -> dict[str, Any]:
    return {
        "status": error.status,
        "detail": error.detail,
        "errors": [e.model_dump() if isinstance(e, FieldError) else e for e in error.errors],
    }


@task(RULESET_DRY_RUN, max_attempts=2, retry_backoff_s=1.0)
def ruleset_dry_run(
    ctx: JobContext,
    ruleset_version_id: str,
    left_dataset_id: str,
    right_dataset_id: str,
) -> None:
    # Local: the engine (DuckDB, SciPy, pyarrow) loads with the first dry run of this worker.
    from recon.datasets.bulk import load_dataset_arrow
    from recon.engine import InputError, RulesError, reconcile
    from recon.rulesets.dryrun import rejected_arrow

    with session_scope(ctx.session_factory) as session:
        version = session.get(RuleSetVersion, ruleset_version_id)
        left = session.get(Dataset, left_dataset_id)
        right = session.get(Dataset, right_dataset_id)
        if version is None or left is None or right is None:
            ctx.finish_in(
                session, {"problem": problem_doc(Unprocessable("a dataset or the version is gone"))}
            )
            return
        rules = parse_or_422(version.text, source=f"rules v{version.version}")
        started = time.perf_counter()
        outcome: dict[str, Any]
        try:
            result = reconcile(
                load_dataset_arrow(session, left),
                load_dataset_arrow(session, right),
                rules,
                left_rejected=rejected_arrow(session, left),
                right_rejected=rejected_arrow(session, right),
                threads=1,  # a dry run is small (DRY_RUN_MAX_ROWS): leave the other cores to runs
                memory_limit=engine_memory_limit(ctx.settings),
            )
        except RulesError as exc:
            outcome = {"problem": problem_doc(invalid_rules(exc, "the rules do not fit these datasets"))}
        except InputError as exc:
            error = Unprocessable(f"the datasets cannot be reconciled with these rules: {exc}")
            outcome = {"problem": problem_doc(error)}
        else:
            outcome = {"summary": dict(result.summary), "elapsed_s": time.perf_counter() - started}
        ctx.finish_in(session, outcome)
    log.info("ruleset_dry_run_job", job_id=ctx.job_id, ok="summary" in outcome)
