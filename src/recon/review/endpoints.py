"""HTTP surface of review: actions on a run's results, maker-checker, comments, sign-off."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from recon.auth.access import ProjectAccess
from recon.auth.dependencies import AppSettings, ProjectViewer
from recon.core.db import DbSession
from recon.core.errors import FieldError, NotFound, ProblemError, Unprocessable, fields_under, problem_type
from recon.core.pagination import Page, Pagination
from recon.core.params import ProjectId, ResourceId
from recon.models.review import CommentTarget, DecisionKind, DecisionStatus
from recon.review import by_filter, signoff
from recon.review.access import DecisionApprover, DecisionViewer, StatementViewer
from recon.review.schemas import (
    ActionResult,
    Approve,
    Assign,
    BulkByFilter,
    BulkByFilterResult,
    BulkComment,
    BulkConfirm,
    BulkDecisions,
    BulkGroups,
    BulkWriteOff,
    CommentCreate,
    CommentOut,
    Confirm,
    DecisionOut,
    GroupAction,
    ManualMatch,
    OpenExceptions,
    ReconcilingItems,
    RejectDecision,
    Reopen,
    SignOff,
    SignOffOut,
    StatementOut,
    WriteOff,
)
from recon.review.service import Outcome, ReviewService, bulk_field, single_field
from recon.runs.access import RunApprover, RunPreparer, RunViewer
from recon.storage import ObjectNotFound, get_store
from recon.storage.base import iter_chunks_then_close

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

router = APIRouter(tags=["review"])

RunId = ResourceId


def _act(session: Session, access: ProjectAccess, action: Callable[[ReviewService], Outcome]) -> ActionResult:
    """Run a review action; its field errors name the request body (`body.groups[0].version`)."""
    service = ReviewService(session, access)
    with fields_under("body"):
        outcome = action(service)
    return service.result(outcome)


def _pairs(refs: list) -> list[tuple[int, int]]:  # type: ignore[type-arg]
    return [(r.id, r.version) for r in refs]


# -- single actions ------------------------------------------------------------------------------------------
def _decide(
    kind: DecisionKind,
    run_id: str,
    body: GroupAction | BulkGroups,
    access: ProjectAccess,
    session: Session,
    *,
    writeoff_reason: str | None = None,
) -> ActionResult:
    """Confirm, reject or unmatch one group (`group_id` + `version`) or many (`groups`); a confirm writes a
    difference off with `writeoff_reason`."""
    if isinstance(body, GroupAction):
        refs, field_of = [(body.group_id, body.version)], single_field("group_id")
    else:
        refs, field_of = _pairs(body.groups), bulk_field("groups")
    return _act(
        session,
        access,
        lambda service: service.decide_groups(
            run_id,
            kind,
            refs,
            comment=body.comment,
            reason_code=writeoff_reason,
            field_of=field_of,
            reason_field="writeoff_reason",
        ),
    )


def _write_off(
    run_id: str,
    body: WriteOff | BulkWriteOff,
    groups: list[tuple[int, int]],
    access: ProjectAccess,
    session: Session,
) -> ActionResult:
    """Write off breaks and unmatched records: the single action's records together in one group, the bulk
    action's each on its own."""
    single = isinstance(body, WriteOff)
    return _act(
        session,
        access,
        lambda service: service.write_off(
            run_id,
            groups=groups,
            items=_pairs(body.items),
            reason_code=body.reason_code,
            comment=body.comment,
            items_together=single,
            group_field=single_field("group_id") if single else bulk_field("groups"),
        ),
    )


@router.post("/runs/{run_id}/confirm", status_code=201, response_model=ActionResult)
def confirm(run_id: RunId, body: Confirm, access: RunPreparer, session: DbSession) -> ActionResult:
    """Confirm a suggested group or accept a break: it becomes matched (after approval when the project
    requires it). A non-zero difference is written off in the same decision: `writeoff_reason` and `comment`
    are then required (422 naming `body.writeoff_reason` otherwise)."""
    return _decide(DecisionKind.CONFIRM, run_id, body, access, session, writeoff_reason=body.writeoff_reason)


@router.post("/runs/{run_id}/reject", status_code=201, response_model=ActionResult)
def reject(run_id: RunId, body: GroupAction, access: RunPreparer, session: DbSession) -> ActionResult:
    """Reject a suggested group: its records go back to unmatched (reason `rejected_suggestion`)."""
    return _decide(DecisionKind.REJECT, run_id, body, access, session)


@router.post("/runs/{run_id}/unmatch", status_code=201, response_model=ActionResult)
def unmatch(run_id: RunId, body: GroupAction, access: RunPreparer, session: DbSession) -> ActionResult:
    """Dissolve a matched group or a break: its records go back to unmatched. `comment` required."""
    return _decide(DecisionKind.UNMATCH, run_id, body, access, session)


@router.post("/runs/{run_id}/writeoff", status_code=201, response_model=ActionResult)
def write_off(run_id: RunId, body: WriteOff, access: RunPreparer, session: DbSession) -> ActionResult:
    """Close a break (`group_id` + `version`: its difference is written off) or unmatched records (`items`,
    together in one manual group) with a reason code of the project. `comment` required."""
    groups: list[tuple[int, int]] = []
    if body.group_id is not None or body.version is not None:
        if body.group_id is None or body.version is None:
            raise Unprocessable(
                "give group_id and version together",
                errors=[FieldError(field="body.version", message="group_id and version go together")],
            )
        groups = [(body.group_id, body.version)]
    return _write_off(run_id, body, groups, access, session)


@router.post("/runs/{run_id}/manual-match", status_code=201, response_model=ActionResult)
def manual_match(run_id: RunId, body: ManualMatch, access: RunPreparer, session: DbSession) -> ActionResult:
    """Match unmatched records of both sides (each with the `version` the client saw). The decision shows
    left total, right total and difference; a non-zero difference needs `writeoff_reason`."""
    return _act(
        session,
        access,
        lambda service: service.manual_match(
            run_id, _pairs(body.items), comment=body.comment, writeoff_reason=body.writeoff_reason
        ),
    )


@router.post("/runs/{run_id}/reconciling-items", status_code=201, response_model=ActionResult)
def explain_items(
    run_id: RunId, body: ReconcilingItems, access: RunPreparer, session: DbSession
) -> ActionResult:
    """Explain unmatched records as reconciling items (one decision per record; `comment` required): they
    stay open, are listed on the statement by type and are carried into the next period's run. Types:
    `deposit_in_transit`, `outstanding_payment` (books side), `bank_error` (bank side), `timing` (either)."""
    return _act(
        session,
        access,
        lambda service: service.explain(run_id, _pairs(body.items), body.type, comment=body.comment),
    )


@router.post("/runs/{run_id}/assign", response_model=ActionResult)
def assign(run_id: RunId, body: Assign, access: RunPreparer, session: DbSession) -> ActionResult:
    """Give groups and/or records an owner (or none). Lists allowed: this is its own bulk form."""
    return _act(
        session,
        access,
        lambda service: service.assign(
            run_id, groups=_pairs(body.groups), items=_pairs(body.items), assignee_id=body.assignee_id
        ),
    )


@router.post("/runs/{run_id}/comments", status_code=status.HTTP_201_CREATED, response_model=CommentOut)
def add_comment(run_id: RunId, body: CommentCreate, access: RunPreparer, session: DbSession) -> CommentOut:
    with fields_under("body"):
        (comment,) = ReviewService(session, access).add_comments(
            run_id, [(body.target, body.target_id)], body.text, single=True
        )
    return CommentOut.model_validate(comment)


@router.get("/runs/{run_id}/comments", response_model=Page[CommentOut])
def list_comments(
    run_id: RunId,
    *,
    access: RunViewer,
    session: DbSession,
    page: Pagination,
    target: Annotated[CommentTarget | None, Query()] = None,
    target_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Page[CommentOut]:
    """Comments of the run, oldest first (filter by `target` and `target_id`)."""
    comments = ReviewService(session, access).comments(run_id, page, target, target_id)
    return comments.map(CommentOut.model_validate)


# -- bulk ----------------------------------------------------------------------------------------------------
@router.post("/runs/{run_id}/bulk/confirm", status_code=201, response_model=ActionResult)
def bulk_confirm(run_id: RunId, body: BulkConfirm, access: RunPreparer, session: DbSession) -> ActionResult:
    """Confirm many suggested groups or breaks: all or nothing; per-id problems in `errors`. Groups with a
    difference are written off with `writeoff_reason` in the same decision (required when any has one)."""
    return _decide(DecisionKind.CONFIRM, run_id, body, access, session, writeoff_reason=body.writeoff_reason)


@router.post("/runs/{run_id}/bulk/reject", status_code=201, response_model=ActionResult)
def bulk_reject(run_id: RunId, body: BulkGroups, access: RunPreparer, session: DbSession) -> ActionResult:
    return _decide(DecisionKind.REJECT, run_id, body, access, session)


@router.post("/runs/{run_id}/bulk/unmatch", status_code=201, response_model=ActionResult)
def bulk_unmatch(run_id: RunId, body: BulkGroups, access: RunPreparer, session: DbSession) -> ActionResult:
    return _decide(DecisionKind.UNMATCH, run_id, body, access, session)


@router.post("/runs/{run_id}/bulk/writeoff", status_code=201, response_model=ActionResult)
def bulk_write_off(
    run_id: RunId, body: BulkWriteOff, access: RunPreparer, session: DbSession
) -> ActionResult:
    """Write off many breaks and unmatched records (one decision each) with one reason code and comment."""
    return _write_off(run_id, body, _pairs(body.groups), access, session)


@router.post("/runs/{run_id}/bulk/assign", response_model=ActionResult)
def bulk_assign(run_id: RunId, body: Assign, access: RunPreparer, session: DbSession) -> ActionResult:
    return assign(run_id, body, access, session)


@router.post(
    "/runs/{run_id}/bulk/comment", status_code=status.HTTP_201_CREATED, response_model=list[CommentOut]
)
def bulk_comment(
    run_id: RunId, body: BulkComment, access: RunPreparer, session: DbSession
) -> list[CommentOut]:
    targets = [(t.target, t.target_id) for t in body.targets]
    with fields_under("body"):
        comments = ReviewService(session, access).add_comments(run_id, targets, body.text)
    return [CommentOut.model_validate(c) for c in comments]


@router.post("/runs/{run_id}/bulk/approve", response_model=ActionResult)
def bulk_approve(run_id: RunId, body: BulkDecisions, access: RunApprover, session: DbSession) -> ActionResult:
    """Approve many pending decisions of the run (none may be your own: 403 maker-checker)."""
    refs = [(d.id, d.version) for d in body.decisions]
    return _act(
        session, access, lambda service: service.check(run_id, refs, approve=True, comment=body.comment)
    )


@router.post("/runs/{run_id}/bulk/reject-decisions", response_model=ActionResult)
def bulk_reject_decisions(
    run_id: RunId, body: BulkDecisions, access: RunApprover, session: DbSession
) -> ActionResult:
    """Reject many pending decisions of the run (`comment` required); their groups and records go back."""
    refs = [(d.id, d.version) for d in body.decisions]
    return _act(
        session, access, lambda service: service.check(run_id, refs, approve=False, comment=body.comment)
    )


@router.post("/runs/{run_id}/bulk/by-filter", response_model=BulkByFilterResult)
def bulk_by_filter(
    run_id: RunId, body: BulkByFilter, access: RunPreparer, session: DbSession
) -> BulkByFilterResult:
    """Confirm, reject, unmatch, write off or assign everything a filter of the results lists selects (e.g.
    every suggestion of pass `near` with score >= 0.9), at most 10,000: all or nothing. Show the user
    `GET /runs/{id}/groups/totals` (or `/unmatched/totals`) with the same filter first and send the count
    they confirmed as `expected_count` (409 selection-changed when it differs now)."""
    with fields_under("body"):
        return by_filter.bulk_by_filter(session, access, run_id, body)


# -- decisions -----------------------------------------------------------------------------------------------
@router.get("/projects/{project_id}/decisions", response_model=Page[DecisionOut])
def list_decisions(
    project_id: ProjectId,
    *,
    access: ProjectViewer,
    session: DbSession,
    page: Pagination,
    status_: Annotated[DecisionStatus | None, Query(alias="status")] = None,
    kind: Annotated[DecisionKind | None, Query()] = None,
    maker_id: Annotated[str | None, Query(max_length=36)] = None,
    run_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[DecisionOut]:
    """The project's decisions, newest first; filter by status (e.g. `pending_approval`), kind, maker, run."""
    decisions = ReviewService(session, access).decisions(
        page, status_, kind, maker_id=maker_id, run_id=run_id
    )
    return decisions.map(DecisionOut.model_validate)


@router.get("/decisions/{decision_id}", response_model=DecisionOut)
def get_decision(decision_id: ResourceId, access: DecisionViewer, session: DbSession) -> DecisionOut:
    return DecisionOut.model_validate(ReviewService(session, access).decision(decision_id))


def _check_one(
    decision_id: str, body: Approve | RejectDecision, approve: bool, access: ProjectAccess, session: Session
) -> ActionResult:
    def check(service: ReviewService) -> Outcome:
        run_id = service.decision_run_id(decision_id)
        return service.check(
            run_id,
            [(decision_id, body.version)],
            approve=approve,
            comment=body.comment,
            field_of=single_field("decision_id"),
        )

    return _act(session, access, check)


@router.post("/decisions/{decision_id}/approve", response_model=ActionResult)
def approve(
    decision_id: ResourceId, body: Approve, access: DecisionApprover, session: DbSession
) -> ActionResult:
    """Approve a pending decision: it takes effect. The maker cannot approve it (403 maker-checker)."""
    return _check_one(decision_id, body, True, access, session)


@router.post("/decisions/{decision_id}/reject", response_model=ActionResult)
def reject_decision(
    decision_id: ResourceId, body: RejectDecision, access: DecisionApprover, session: DbSession
) -> ActionResult:
    """Reject a pending decision (`comment` required): its group and records go back to how they were."""
    return _check_one(decision_id, body, False, access, session)


# -- sign-off ------------------------------------------------------------------------------------------------
@router.get("/runs/{run_id}/open-exceptions", response_model=OpenExceptions)
def get_open_exceptions(run_id: RunId, access: RunViewer, session: DbSession) -> OpenExceptions:
    """What keeps the run from being signed off (all zero: it can be)."""
    return signoff.open_exceptions_of(session, access, run_id)


@router.post("/runs/{run_id}/sign-off", response_model=SignOffOut)
def sign_off(
    run_id: RunId, body: SignOff, access: RunApprover, session: DbSession, settings: AppSettings
) -> SignOffOut:
    """Certify the run complete (approver+). Refused while anything is open (409 open-exceptions: every record
    must be matched, written off or a reconciling item), while the statement does not agree (409
    unexplained-difference), and to an approver who made decisions in the run (403 separation-of-duties,
    project setting). Produces the reconciliation statement (JSON and XLSX), pinned by hash in the audit
    event; the run is frozen afterwards: every review action answers 409 run-signed-off."""
    return signoff.sign_off(session, access, run_id, body.comment, get_store(settings))


@router.post("/runs/{run_id}/reopen", response_model=SignOffOut)
def reopen(run_id: RunId, body: Reopen, access: RunApprover, session: DbSession) -> SignOffOut:
    """Reopen a signed-off run (approver+, `comment` required): its statement is withdrawn; audited."""
    with fields_under("body"):
        return signoff.reopen(session, access, run_id, body.comment)


# -- statements ----------------------------------------------------------------------------------------------
@router.get("/runs/{run_id}/statement", response_model=StatementOut)
def get_statement(run_id: RunId, access: RunViewer, session: DbSession) -> StatementOut:
    """The run's reconciliation statement: the signed-off one, or (not signed off) a live preview computed
    now (`id`, hashes null) -- what sign-off would certify."""
    return signoff.statement_view(session, access, run_id)


@router.get("/runs/{run_id}/statements", response_model=Page[StatementOut])
def list_statements(
    run_id: RunId, access: RunViewer, session: DbSession, page: Pagination
) -> Page[StatementOut]:
    """Every statement of the run's sign-offs (withdrawn ones too), newest first."""
    return signoff.statements(session, access, run_id, page)


@router.get("/statements/{statement_id}", response_model=StatementOut)
def get_statement_by_id(
    statement_id: ResourceId, access: StatementViewer, session: DbSession
) -> StatementOut:
    return signoff.statement_out(signoff.statement(session, access, statement_id))


@router.get(
    "/statements/{statement_id}/xlsx",
    response_class=StreamingResponse,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "The statement sheet as signed off"}},
)
def download_statement_xlsx(
    statement_id: ResourceId, access: StatementViewer, session: DbSession, settings: AppSettings
) -> StreamingResponse:
    """The XLSX sheet of a signed-off statement (`ETag`: its sha256, as pinned in the audit event)."""
    statement = signoff.statement(session, access, statement_id)
    if statement.xlsx_key is None:
        raise NotFound("this statement has no sheet")
    try:
        reader = get_store(settings).open(statement.xlsx_key)
    except ObjectNotFound:
        raise ProblemError(
            "the statement's sheet is no longer in storage; its JSON document and hash remain authoritative",
            status=410,
            type=problem_type("statement-sheet-gone"),
            title="Statement sheet gone",
        ) from None
    filename = f"statement-{statement.run_id[:8]}-{statement.created_at:%Y%m%dT%H%M%SZ}.xlsx"
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "ETag": f'"{statement.xlsx_sha256}"',
    }
    return StreamingResponse(iter_chunks_then_close(reader), media_type=XLSX_MEDIA_TYPE, headers=headers)
