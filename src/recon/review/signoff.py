"""Sign-off (an approver certifies a run complete; it is frozen afterwards) and reopening (approver+).

A run can be signed off when nothing is open: every record is matched, written off or explained as a
reconciling item. Open exceptions -- what blocks a sign-off: records in state `unmatched` (whatever their
reason, duplicates and ingest-rejected records included), groups in status `break` and `suggested`, and
decisions pending approval (records in state `pending` belong to those). Then the reconciliation statement
must agree (unexplained difference 0 in every currency), and with the project's `separation_of_duties`
(default on) the approver must have made none of the run's manual decisions.

At sign-off the statement is produced as JSON (canonical form hashed) and as an XLSX sheet (stored, hashed);
both hashes are pinned in the `run.signed_off` audit event. Reopening withdraws the statement.
"""

from __future__ import annotations

import io
from typing import Any

import structlog
from sqlalchemy.orm import Session

from recon.audit.service import record_entity_event
from recon.auth.access import ProjectAccess
from recon.core.errors import Conflict, FieldError, Forbidden, or_404, problem_type
from recon.core.locks import lock_run
from recon.core.pagination import Page, PageParams
from recon.core.responses import response_of
from recon.core.time import utcnow
from recon.models import Run, Statement
from recon.models.runs import RunStatus
from recon.projects.schemas import ProjectSettingsView
from recon.review.repository import StatementRepository, run_in_project
from recon.review.schemas import OpenExceptions, SignOffOut, StatementOut, StatementRef
from recon.review.service import check_open_for_review, need_comment
from recon.review.statement import build_statement, document_sha256, unexplained
from recon.review.statement_repository import makers, open_counts
from recon.review.statement_xlsx import statement_xlsx
from recon.storage import ObjectStore

log = structlog.get_logger("recon.review")
STATEMENT_PREFIX = "statements"
MAX_STATEMENT_BYTES = 256 * 1024 * 1024


def open_exceptions(session: Session, run_id: str) -> OpenExceptions:
    counts = open_counts(session, run_id)
    return OpenExceptions(
        unmatched_items=counts.unmatched_items,
        breaks=counts.breaks,
        suggested_groups=counts.suggested_groups,
        pending_decisions=counts.pending_decisions,
    )


def current_statement(session: Session, run_id: str) -> Statement | None:
    """The statement of the run's sign-off in force (None: not signed off, or withdrawn)."""
    return StatementRepository(session).current_for_run(run_id)


def _locked_run(session: Session, access: ProjectAccess, run_id: str) -> Run:
    # Exclusive: sign-off and reopen never count open exceptions while a review action is half-way.
    return or_404(lock_run(session, run_id, project_id=access.project.id, exclusive=True), "run")


def open_exceptions_of(session: Session, access: ProjectAccess, run_id: str) -> OpenExceptions:
    return open_exceptions(session, run_in_project(session, access.project.id, run_id))


# -- statements ----------------------------------------------------------------------------------------------
def statement_out(statement: Statement) -> StatementOut:
    return response_of(StatementOut, statement, signed_off_at=statement.created_at)


def statement_view(session: Session, access: ProjectAccess, run_id: str) -> StatementOut:
    """The signed-off statement in force, or (not signed off) a live preview computed now."""
    run_in = run_in_project(session, access.project.id, run_id)
    statement = current_statement(session, run_in)
    if statement is not None:
        return statement_out(statement)
    run = session.get(Run, run_in)
    assert run is not None
    if run.status != RunStatus.SUCCEEDED:
        raise Conflict(f"run {run.id} is {run.status}; a statement exists once it has succeeded")
    document = build_statement(session, run, prepared_at=utcnow(), prepared_by=access.user)
    return StatementOut(
        id=None,
        run_id=run.id,
        sha256=None,
        xlsx_sha256=None,
        signed_off_at=None,
        signed_off_by_id=None,
        withdrawn_at=None,
        document=document,
    )


def statements(
    session: Session, access: ProjectAccess, run_id: str, params: PageParams
) -> Page[StatementOut]:
    run_in = run_in_project(session, access.project.id, run_id)
    return StatementRepository(session).page_for_run(run_in, params).map(statement_out)


def statement(session: Session, access: ProjectAccess, statement_id: str) -> Statement:
    return StatementRepository(session).get_in_project_or_404(access.project.id, statement_id)


def statement_ref(statement: Statement | None) -> StatementRef | None:
    if statement is None:
        return None
    return StatementRef(
        id=statement.id, sha256=statement.sha256, xlsx_sha256=statement.xlsx_sha256, size=statement.xlsx_size
    )


def _out(
    run: Run,
    opened: OpenExceptions,
    totals: list[dict[str, Any]] | None = None,
    statement: Statement | None = None,
) -> SignOffOut:
    return SignOffOut(
        run_id=run.id,
        signed_off_at=run.signed_off_at,
        signed_off_by_id=run.signed_off_by_id,
        open_exceptions=opened,
        control_totals=totals or [],
        statement=statement_ref(statement),
        version=run.version,
    )


def _check_open(session: Session, run: Run) -> OpenExceptions:
    opened = open_exceptions(session, run.id)
    if opened.total:
        counts = opened.model_dump()
        raise Conflict(
            "the run has open exceptions: "
            + ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items() if n)
            + "; match, write off or explain each as a reconciling item",
            type=problem_type("open-exceptions"),
            title="Open exceptions",
            errors=[FieldError(field=name, message=str(n)) for name, n in counts.items() if n],
        )
    return opened


def _check_separation(session: Session, access: ProjectAccess, run: Run) -> None:
    settings = ProjectSettingsView.model_validate(access.project.settings or {})
    if settings.separation_of_duties and access.user.id in makers(session, run.id):
        raise Forbidden(
            "you made manual decisions in this run; another approver must sign it off "
            "(project setting separation_of_duties)",
            type=problem_type("separation-of-duties"),
            title="Separation of duties",
        )


def sign_off(
    session: Session, access: ProjectAccess, run_id: str, comment: str, store: ObjectStore
) -> SignOffOut:
    run = _locked_run(session, access, run_id)
    check_open_for_review(run, "signed off")
    _check_separation(session, access, run)
    opened = _check_open(session, run)
    now = utcnow()
    document = build_statement(session, run, prepared_at=now, prepared_by=access.user)
    differences = unexplained(document)
    if differences:
        shown = ", ".join(f"{amount} {currency or ''}".strip() for currency, amount in differences)
        raise Conflict(
            f"the reconciliation statement does not agree: unexplained difference {shown}; check the opening "
            "and closing balances of the run's period and the carried-in items",
            type=problem_type("unexplained-difference"),
            title="Unexplained difference",
            errors=[
                FieldError(field=f"sections.{currency or 'none'}.unexplained_difference", message=amount)
                for currency, amount in differences
            ],
        )
    sha256 = document_sha256(document)
    xlsx = io.BytesIO(statement_xlsx(document))
    stored = store.put_stream(xlsx, max_bytes=MAX_STATEMENT_BYTES, prefix=STATEMENT_PREFIX)
    statement = Statement(
        run_id=run.id,
        project_id=run.project_id,
        document=document,
        sha256=sha256,
        xlsx_key=stored.key,
        xlsx_sha256=stored.sha256,
        xlsx_size=stored.size,
        signed_off_by_id=access.user.id,
        created_at=now,
        updated_at=now,
    )
    session.add(statement)
    run.signed_off_at = now
    run.signed_off_by_id = access.user.id
    session.flush()
    totals = [{"currency": s["currency"], **s["control_totals"]} for s in document["sections"]]
    _record_run_event(
        session,
        access,
        run,
        "run.signed_off",
        {
            "comment": comment,
            "statement_id": statement.id,
            "statement_sha256": sha256,
            "statement_xlsx_sha256": stored.sha256,
            "unexplained_difference": {
                s["currency"] or "": s["unexplained_difference"] for s in document["sections"]
            },
            "control_totals": totals,
            "results_sha256": run.results_sha256,
        },
    )
    log.info("run_signed_off", run_id=run.id, statement_sha256=sha256)
    return _out(run, opened, totals, statement)


def _record_run_event(
    session: Session, access: ProjectAccess, run: Run, action: str, data: dict[str, Any]
) -> None:
    record_entity_event(
        session,
        "run",
        run,
        action,
        actor_id=access.user.id,
        data=data,
    )


def reopen(session: Session, access: ProjectAccess, run_id: str, comment: str) -> SignOffOut:
    need_comment(comment, "say why the signed-off run is reopened")
    run = _locked_run(session, access, run_id)
    if run.signed_off_at is None:
        raise Conflict(
            f"run {run.id} is not signed off", type=problem_type("run-not-signed-off"), title="Not signed off"
        )
    was = {"signed_off_at": run.signed_off_at, "signed_off_by_id": run.signed_off_by_id}
    statement = current_statement(session, run.id)
    now = utcnow()
    if statement is not None:
        statement.withdrawn_at = now
        statement.withdrawn_by_id = access.user.id
    run.signed_off_at = None
    run.signed_off_by_id = None
    session.flush()
    _record_run_event(
        session,
        access,
        run,
        "run.reopened",
        {
            "comment": comment,
            **was,
            "statement_id": statement.id if statement else None,
            "statement_sha256": statement.sha256 if statement else None,
        },
    )
    log.info("run_reopened", run_id=run.id)
    return _out(run, open_exceptions(session, run.id))
