"""Sign-off (an approver certifies a run complete; it is frozen afterwards) and reopening (admin).

Open exceptions -- what blocks a sign-off: records in state `unmatched` (whatever their reason, duplicates
and ingest-rejected records included: each must be matched or written off), groups in status `break`
(written off or unmatched yet), groups in status `suggested` (confirmed or rejected yet) and decisions
pending approval. Records in state `pending` belong to pending decisions and are counted there.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.orm import Session

from recon.audit.service import record_event
from recon.auth.dependencies import ProjectAccess
from recon.core.errors import Conflict, FieldError, problem_type
from recon.core.time import utcnow
from recon.models import Run
from recon.models.runs import RunStatus
from recon.review.repository import control_totals, lock_run, open_counts
from recon.review.schemas import OpenExceptions, SignOffOut
from recon.review.service import need_comment, run_signed_off

log = structlog.get_logger("recon.review")


def open_exceptions(session: Session, run_id: str) -> OpenExceptions:
    counts = open_counts(session, run_id)
    return OpenExceptions(
        unmatched_items=counts.unmatched_items,
        breaks=counts.breaks,
        suggested_groups=counts.suggested_groups,
        pending_decisions=counts.pending_decisions,
    )


def _out(run: Run, opened: OpenExceptions, totals: dict[str, Any] | None = None) -> SignOffOut:
    return SignOffOut(
        run_id=run.id,
        signed_off_at=run.signed_off_at,
        signed_off_by_id=run.signed_off_by_id,
        open_exceptions=opened,
        control_totals=totals or {},
        version=run.version,
    )


def sign_off(session: Session, access: ProjectAccess, run_id: str, comment: str) -> SignOffOut:
    run = lock_run(session, access.project.id, run_id, exclusive=True)
    if run.signed_off_at is not None:
        raise run_signed_off(run)
    if run.status != RunStatus.SUCCEEDED.value:
        raise Conflict(
            f"run {run.id} is {run.status}; only a succeeded run can be signed off",
            type=problem_type("run-not-reviewable"),
            title="Run not reviewable",
        )
    opened = open_exceptions(session, run.id)
    if opened.total:
        counts = opened.model_dump()
        raise Conflict(
            "the run has open exceptions: "
            + ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items() if n),
            type=problem_type("open-exceptions"),
            title="Open exceptions",
            errors=[FieldError(field=name, message=str(n)) for name, n in counts.items() if n],
        )
    totals = control_totals(session, run.id)
    run.signed_off_at = utcnow()
    run.signed_off_by_id = access.user.id
    session.flush()
    record_event(
        session,
        action="run.signed_off",
        actor_id=access.user.id,
        project_id=access.project.id,
        entity_type="run",
        entity_id=run.id,
        data={"comment": comment, "control_totals": totals, "results_sha256": run.results_sha256},
    )
    log.info("run_signed_off", run_id=run.id)
    return _out(run, opened, totals)


def reopen(session: Session, access: ProjectAccess, run_id: str, comment: str) -> SignOffOut:
    need_comment(comment, "say why the signed-off run is reopened")
    run = lock_run(session, access.project.id, run_id, exclusive=True)
    if run.signed_off_at is None:
        raise Conflict(
            f"run {run.id} is not signed off", type=problem_type("run-not-signed-off"), title="Not signed off"
        )
    was = {"signed_off_at": run.signed_off_at, "signed_off_by_id": run.signed_off_by_id}
    run.signed_off_at = None
    run.signed_off_by_id = None
    session.flush()
    record_event(
        session,
        action="run.reopened",
        actor_id=access.user.id,
        project_id=access.project.id,
        entity_type="run",
        entity_id=run.id,
        data={"comment": comment, **was},
    )
    log.info("run_reopened", run_id=run.id)
    return _out(run, open_exceptions(session, run.id))
