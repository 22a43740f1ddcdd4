"""Runs: create (pinning the inputs), read, list, cancel, retry, rerun. No HTTP, no commits; execution is the
`run_execute` job (recon.runs.tasks)."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from recon.audit.service import record_entity_event
from recon.auth.access import ProjectAccess
from recon.core.errors import (
    Conflict,
    FieldError,
    Unprocessable,
    problem_type,
)
from recon.core.pagination import Page, PageParams
from recon.core.repository import check_version
from recon.core.responses import attributes, response_of
from recon.datasets.service import ready_input_dataset
from recon.jobs import enqueue
from recon.jobs.names import RUN_EXECUTE
from recon.jobs.service import JobService
from recon.models.jobs import Job
from recon.models.runs import Run, RunStatus
from recon.rulesets.service import pinned_version
from recon.runs.carry import carried_items, carry_digest
from recon.runs.repository import RunRepository
from recon.runs.schemas import Balances, PeriodUpdate, RunCreate, RunInputs, RunJob, RunOut, RunRuleset

log = structlog.get_logger("recon.runs")

ENTITY = "run"
# Summary keys that differ between two executions of the same inputs (timings, ids).
VOLATILE_SUMMARY_KEYS = ("run_id", "elapsed_s", "phases_s")
# What a run is pinned to, in the order its audit events record them.
PINNED = (
    "ruleset_id",
    "ruleset_version",
    "rules_sha256",
    "left_dataset_id",
    "right_dataset_id",
    "left_sha256",
    "right_sha256",
    "job_id",
    "period_start",
    "period_end",
    "bank_side",
    "backend",
    "carried_from_run_id",
    "carry_sha256",
    "opening_balances",
    "closing_balances",
)
# What a rerun takes from its original: all it is pinned to but the job, which is its own.
RERUN_COPIES = ("project_id", "ruleset_version_id", *(name for name in PINNED if name != "job_id"))


@dataclass(frozen=True)
class Created:
    run: Run
    replayed: bool = False  # the same Idempotency-Key again: nothing new was created


class RunService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.runs = RunRepository(session)

    # -- create ---------------------------------------------------------------------------------------------
    def create(self, access: ProjectAccess, body: RunCreate, idempotency_key: str | None) -> Created:
        project_id, user = access.project.id, access.user
        requested = (body.left_dataset_id, body.right_dataset_id, body.ruleset_id)
        earlier = self.runs.replayed(
            project_id,
            user.id,
            idempotency_key,
            same=lambda run: (
                requested == (run.left_dataset_id, run.right_dataset_id, run.ruleset_id)
                and body.ruleset_version in (None, run.ruleset_version)
            ),
        )
        if earlier is not None:
            return Created(earlier, replayed=True)
        ruleset, version = pinned_version(self.session, project_id, body.ruleset_id, body.ruleset_version)
        left = ready_input_dataset(
            self.session, project_id, body.left_dataset_id, field="left_dataset_id", needed_by="a run"
        )
        right = ready_input_dataset(
            self.session, project_id, body.right_dataset_id, field="right_dataset_id", needed_by="a run"
        )
        source, carry_sha256 = self._carry_source(project_id, body.carry_forward_from)
        if body.backend == "spark" and not spark_available():
            raise Unprocessable(
                "this installation cannot run on Spark (the spark extra is not installed)",
                errors=[FieldError(field="backend", message="spark is not available here; use duckdb")],
            )
        opening = balances_json(body.opening_balances)
        if opening is None and source is not None:
            opening = closing_of(self.session, source)
        run = self.runs.add(
            Run(
                project_id=project_id,
                ruleset_id=ruleset.id,
                ruleset_version=version.version,
                ruleset_version_id=version.id,
                left_dataset_id=left.id,
                right_dataset_id=right.id,
                left_sha256=left.sha256,
                right_sha256=right.sha256,
                rules_sha256=version.sha256,
                status=RunStatus.QUEUED,
                progress={"phase": "queued", "passes": []},
                created_by_id=user.id,
                idempotency_key=idempotency_key,
                period_start=body.period_start,
                period_end=body.period_end,
                bank_side=body.bank_side.value,
                backend=body.backend,
                carried_from_run_id=source.id if source else None,
                carry_sha256=carry_sha256,
                opening_balances=opening,
                closing_balances=balances_json(body.closing_balances),
            )
        )
        self._enqueue(run, user.id)
        record_entity_event(
            self.session,
            ENTITY,
            run,
            "run.created",
            actor_id=user.id,
            data=_pins(run),
        )
        log.info("run_created", run_id=run.id, job_id=run.job_id)
        return Created(run)

    def _carry_source(self, project_id: str, run_id: str | None) -> tuple[Run | None, str | None]:
        """The signed-off run whose reconciling items are carried in, and their digest."""
        if run_id is None:
            return None, None
        source = self.runs.get_in_project(project_id, run_id)
        field_error = FieldError(field="carry_forward_from", message=f"run {run_id!r}")
        if source is None:
            raise Unprocessable(
                "the run to carry forward from does not exist in this project", errors=[field_error]
            )
        if source.signed_off_at is None:
            raise Conflict(
                f"run {source.id} is not signed off; carry forward from a signed-off run (its reconciling "
                "items "
                "are final then)",
                type=problem_type("run-not-signed-off"),
                title="Not signed off",
                errors=[field_error],
            )
        return source, carry_digest(carried_items(self.session, source))

    def update_period(self, access: ProjectAccess, run_id: str, body: PeriodUpdate) -> Run:
        """Change a run's period dates or balances while it is not signed off."""
        run = self.runs.get_for_update(access.project.id, run_id) or self.get(access, run_id)
        check_version(run, body.version)
        if run.signed_off_at is not None:
            raise Conflict(
                f"run {run.id} is signed off; reopen it to change its period",
                type=problem_type("run-signed-off"),
                title="Run signed off",
            )
        changes = body.model_dump(exclude_unset=True, exclude={"version"}, mode="json")
        for name in ("period_start", "period_end"):
            if name in changes:
                setattr(run, name, getattr(body, name))
        for name in ("opening_balances", "closing_balances"):
            if name in changes:
                setattr(run, name, balances_json(getattr(body, name)))
        if run.period_start and run.period_end and run.period_start > run.period_end:
            raise Unprocessable(
                "period_start must not be after period_end",
                errors=[FieldError(field="period_start", message=str(run.period_start))],
            )
        self.session.flush()
        record_entity_event(
            self.session,
            ENTITY,
            run,
            "run.period_updated",
            actor_id=access.user.id,
            data=changes,
        )
        return run

    def _enqueue(self, run: Run, user_id: str) -> None:
        job = enqueue(
            self.session, RUN_EXECUTE, {"run_id": run.id}, project_id=run.project_id, created_by=user_id
        )
        run.job_id = job.id  # an older job of the run sees another id and writes nothing
        self.session.flush()

    # -- state changes --------------------------------------------------------------------------------------
    def cancel(self, access: ProjectAccess, run_id: str) -> Run:
        """A queued run is cancelled at once; a running one is asked to stop (its job ends `cancelled`)."""
        run = self.get(access, run_id)
        if run.status.is_final or run.job_id is None:
            raise Conflict(
                f"run {run.id} is already {run.status}; only queued or running runs can be cancelled"
            )
        JobService(self.session).cancel(access, run.job_id)  # the job's on_cancel hook marks the run
        self.session.refresh(run)
        return run

    def retry(self, access: ProjectAccess, run_id: str) -> Run:
        """A failed or cancelled run runs again with the same pinned inputs (attempt + 1)."""
        run = self.runs.get_for_update(access.project.id, run_id) or self.get(access, run_id)
        if run.status not in (RunStatus.FAILED, RunStatus.CANCELLED):
            raise Conflict(f"run {run.id} is {run.status}; only failed or cancelled runs can be retried")
        previous = {"status": run.status, "error": run.error, "job_id": run.job_id}
        run.attempt += 1
        run.status = RunStatus.QUEUED
        run.error = None
        run.summary = None
        run.results_sha256 = None
        run.progress = {"phase": "queued", "passes": []}
        run.started_at = None
        run.finished_at = None
        self._enqueue(run, access.user.id)
        record_entity_event(
            self.session,
            ENTITY,
            run,
            "run.retried",
            actor_id=access.user.id,
            data={"attempt": run.attempt, "previous": previous, "job_id": run.job_id},
        )
        return run

    def rerun(self, access: ProjectAccess, run_id: str) -> Run:
        """A new run with exactly the pinned inputs of a succeeded run; when it finishes, its
        `identical_to_original` says whether the results are the same."""
        original = self.get(access, run_id)
        if original.status != RunStatus.SUCCEEDED:
            raise Conflict(f"run {original.id} is {original.status}; only succeeded runs can be re-executed")
        run = self.runs.add(
            Run(
                **attributes(original, *RERUN_COPIES),
                status=RunStatus.QUEUED,
                progress={"phase": "queued", "passes": []},
                rerun_of_id=original.id,
                created_by_id=access.user.id,
            )
        )
        self._enqueue(run, access.user.id)
        record_entity_event(
            self.session,
            ENTITY,
            run,
            "run.created",
            actor_id=access.user.id,
            data={**_pins(run), "rerun_of": original.id},
        )
        return run

    # -- reads ----------------------------------------------------------------------------------------------
    def get(self, access: ProjectAccess, run_id: str) -> Run:
        return self.runs.get_in_project_or_404(access.project.id, run_id)

    def page(
        self,
        access: ProjectAccess,
        params: PageParams,
        *,
        status: RunStatus | None,
        ruleset_id: str | None,
        dataset_id: str | None,
    ) -> Page[Run]:
        return self.runs.page_in_project(
            access.project.id, params, status=status, ruleset_id=ruleset_id, dataset_id=dataset_id
        )

    def out(self, run: Run, *, with_job: bool = True) -> RunOut:
        return self.out_many([run], with_job=with_job)[0]

    def out_many(self, runs: Sequence[Run], *, with_job: bool = False) -> list[RunOut]:
        """Response bodies; one query for the jobs (GET) and one for the originals of finished reruns."""
        jobs: dict[str, Job] = {}
        if with_job:
            job_ids = [r.job_id for r in runs if r.job_id]
            jobs = {j.id: j for j in self.session.scalars(select(Job).where(Job.id.in_(job_ids)))}
        originals = self._originals([r for r in runs if r.rerun_of_id and r.status == RunStatus.SUCCEEDED])
        return [
            run_out(
                run,
                jobs.get(run.job_id) if run.job_id else None,
                identical(run, originals.get(run.rerun_of_id or "")),
            )
            for run in runs
        ]

    def _originals(self, reruns: Sequence[Run]) -> dict[str, Run]:
        ids = [r.rerun_of_id for r in reruns if r.rerun_of_id]
        if not ids:
            return {}
        return {r.id: r for r in self.session.scalars(select(Run).where(Run.id.in_(ids)))}


def balances_json(balances: Balances | None) -> dict[str, Any] | None:
    """Balances as stored: exact decimal text per currency and side."""
    if balances is None:
        return None
    return {
        currency: {
            role: None if value is None else format(value, "f")
            for role, value in (("bank", entry.bank), ("books", entry.books))
        }
        for currency, entry in balances.items()
    }


def closing_of(session: Session, source: Run) -> dict[str, Any] | None:
    """The next period's opening balances from a signed-off run's statement: its balance per bank and its
    adjusted balance per books (the write-offs booked), per currency."""
    from recon.review.signoff import current_statement  # review builds on runs, not the other way round

    statement = current_statement(session, source.id)
    if statement is None:
        return None
    return {
        section["currency"] or "": {
            "bank": section["balance_per_bank"],
            "books": section["adjusted_balance_per_books"],
        }
        for section in statement.document.get("sections", [])
    }


def _pins(run: Run) -> dict[str, Any]:
    return attributes(run, *PINNED)


def spark_available() -> bool:
    """Whether runs can execute on Spark here: the spark extra (PySpark, sqlglot) is installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("pyspark", "sqlglot"))


def stable_summary(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """The summary without what legitimately differs between two executions (timings, the run id)."""
    if summary is None:
        return None
    return {k: v for k, v in summary.items() if k not in VOLATILE_SUMMARY_KEYS}


def identical(run: Run, original: Run | None) -> bool | None:
    """Whether a succeeded rerun reproduced its original: same results digest and same summary."""
    if original is None or run.status != RunStatus.SUCCEEDED or original.results_sha256 is None:
        return None
    return run.results_sha256 == original.results_sha256 and stable_summary(run.summary) == stable_summary(
        original.summary
    )


def run_out(run: Run, job: Job | None, same: bool | None = None) -> RunOut:
    return response_of(
        RunOut,
        run,
        progress=run.progress or {},
        inputs=RunInputs(
            left_dataset_id=run.left_dataset_id,
            right_dataset_id=run.right_dataset_id,
            left_sha256=run.left_sha256,
            right_sha256=run.right_sha256,
        ),
        ruleset=RunRuleset(
            id=run.ruleset_id,
            version=run.ruleset_version,
            version_id=run.ruleset_version_id,
            sha256=run.rules_sha256,
        ),
        job=RunJob.model_validate(job) if job is not None else None,
        identical_to_original=same,
    )
