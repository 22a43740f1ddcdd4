"""HTTP surface of review: actions on a run's results, maker-checker, comments, sign-off."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from recon.auth.dependencies import ProjectAccess, ProjectViewer
from recon.core.db import DbSession
from recon.core.errors import FieldError, NotFound, Unprocessable
from recon.core.pagination import Page, Pagination
from recon.core.params import ProjectId, ResourceId
from recon.models import MatchGroup, Run, RunItem
from recon.models.review import CommentTarget, DecisionKind, DecisionStatus
from recon.review import signoff
from recon.review.access import (
    DecisionApprover,
    DecisionViewer,
    RunAdmin,
    RunApprover,
    RunPreparer,
    RunViewer,
)
from recon.review.repository import (
    GROUP_COLUMNS,
    ITEM_COLUMNS,
    CommentRepository,
    DecisionFilter,
    DecisionRepository,
)
from recon.review.schemas import (
    ActionResult,
    Approve,
    Assign,
    BulkComment,
    BulkDecisions,
    BulkGroups,
    BulkWriteOff,
    CommentCreate,
    CommentOut,
    DecisionOut,
    GroupAction,
    GroupState,
    ItemStateOut,
    ManualMatch,
    OpenExceptions,
    RejectDecision,
    Reopen,
    SignOff,
    SignOffOut,
    WriteOff,
)
from recon.review.service import Outcome, ReviewService, single_field

router = APIRouter(tags=["review"])

RunId = ResourceId


def _result(session: Session, outcome: Outcome) -> ActionResult:
    session.flush()
    groups: list[GroupState] = []
    items: list[ItemStateOut] = []
    if outcome.group_ids:
        rows: Any = session.execute(
            select(*GROUP_COLUMNS).where(MatchGroup.id.in_(sorted(outcome.group_ids))).order_by(MatchGroup.id)
        ).all()
        groups = [GroupState.model_validate(row._asdict()) for row in rows]
    if outcome.item_ids:
        rows = session.execute(
            select(*ITEM_COLUMNS).where(RunItem.id.in_(sorted(outcome.item_ids))).order_by(RunItem.id)
        ).all()
        items = [ItemStateOut.model_validate(row._asdict()) for row in rows]
    for decision in outcome.decisions:
        session.refresh(decision)
    return ActionResult(
        decisions=[DecisionOut.model_validate(d) for d in outcome.decisions],
        groups=groups,
        items=items,
    )


def _pairs(refs: list) -> list[tuple[int, int]]:  # type: ignore[type-arg]
    return [(r.id, r.version) for r in refs]


# -- single actions ------------------------------------------------------------------------------------------
def _group_action(
    kind: DecisionKind, run_id: str, body: GroupAction, access: ProjectAccess, session: Session
) -> ActionResult:
    service = ReviewService(session, access)
    outcome = service.decide_groups(
        run_id,
        kind,
        [(body.group_id, body.version)],
        comment=body.comment,
        field_of=single_field("group_id"),
    )
    return _result(session, outcome)


@router.post("/runs/{run_id}/confirm", status_code=201, response_model=ActionResult)
def confirm(run_id: RunId, body: GroupAction, access: RunPreparer, session: DbSession) -> ActionResult:
    """Confirm a suggested group: it becomes matched (after approval when the project requires it)."""
    return _group_action(DecisionKind.CONFIRM, run_id, body, access, session)


@router.post("/runs/{run_id}/reject", status_code=201, response_model=ActionResult)
def reject(run_id: RunId, body: GroupAction, access: RunPreparer, session: DbSession) -> ActionResult:
    """Reject a suggested group: its records go back to unmatched (reason `rejected_suggestion`)."""
    return _group_action(DecisionKind.REJECT, run_id, body, access, session)


@router.post("/runs/{run_id}/unmatch", status_code=201, response_model=ActionResult)
def unmatch(run_id: RunId, body: GroupAction, access: RunPreparer, session: DbSession) -> ActionResult:
    """Dissolve a matched group or a break: its records go back to unmatched. `comment` required."""
    return _group_action(DecisionKind.UNMATCH, run_id, body, access, session)


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
    outcome = ReviewService(session, access).write_off(
        run_id,
        groups=groups,
        items=_pairs(body.items),
        reason_code=body.reason_code,
        comment=body.comment,
        items_together=True,
        group_field=single_field("group_id"),
    )
    return _result(session, outcome)


@router.post("/runs/{run_id}/manual-match", status_code=201, response_model=ActionResult)
def manual_match(run_id: RunId, body: ManualMatch, access: RunPreparer, session: DbSession) -> ActionResult:
    """Match unmatched records of both sides (each with the `version` the client saw). The decision shows
    left total, right total and difference; a non-zero difference needs `writeoff_reason`."""
    outcome = ReviewService(session, access).manual_match(
        run_id, _pairs(body.items), comment=body.comment, writeoff_reason=body.writeoff_reason
    )
    return _result(session, outcome)


@router.post("/runs/{run_id}/assign", response_model=ActionResult)
def assign(run_id: RunId, body: Assign, access: RunPreparer, session: DbSession) -> ActionResult:
    """Give groups and/or records an owner (or none). Lists allowed: this is its own bulk form."""
    outcome = ReviewService(session, access).assign(
        run_id, groups=_pairs(body.groups), items=_pairs(body.items), assignee_id=body.assignee_id
    )
    return _result(session, outcome)


@router.post("/runs/{run_id}/comments", status_code=status.HTTP_201_CREATED, response_model=CommentOut)
def add_comment(run_id: RunId, body: CommentCreate, access: RunPreparer, session: DbSession) -> CommentOut:
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
    comments = CommentRepository(session).page_for_run(
        _run_in(session, access, run_id), page, target, target_id
    )
    return comments.map(CommentOut.model_validate)


# -- bulk ----------------------------------------------------------------------------------------------------
def _bulk_groups(
    kind: DecisionKind, run_id: str, body: BulkGroups, access: ProjectAccess, session: Session
) -> ActionResult:
    service = ReviewService(session, access)
    outcome = service.decide_groups(run_id, kind, _pairs(body.groups), comment=body.comment)
    return _result(session, outcome)


@router.post("/runs/{run_id}/bulk/confirm", status_code=201, response_model=ActionResult)
def bulk_confirm(run_id: RunId, body: BulkGroups, access: RunPreparer, session: DbSession) -> ActionResult:
    """Confirm many suggested groups: all or nothing; per-id problems in `errors`."""
    return _bulk_groups(DecisionKind.CONFIRM, run_id, body, access, session)


@router.post("/runs/{run_id}/bulk/reject", status_code=201, response_model=ActionResult)
def bulk_reject(run_id: RunId, body: BulkGroups, access: RunPreparer, session: DbSession) -> ActionResult:
    return _bulk_groups(DecisionKind.REJECT, run_id, body, access, session)


@router.post("/runs/{run_id}/bulk/unmatch", status_code=201, response_model=ActionResult)
def bulk_unmatch(run_id: RunId, body: BulkGroups, access: RunPreparer, session: DbSession) -> ActionResult:
    return _bulk_groups(DecisionKind.UNMATCH, run_id, body, access, session)


@router.post("/runs/{run_id}/bulk/writeoff", status_code=201, response_model=ActionResult)
def bulk_write_off(
    run_id: RunId, body: BulkWriteOff, access: RunPreparer, session: DbSession
) -> ActionResult:
    """Write off many breaks and unmatched records (one decision each) with one reason code and comment."""
    outcome = ReviewService(session, access).write_off(
        run_id,
        groups=_pairs(body.groups),
        items=_pairs(body.items),
        reason_code=body.reason_code,
        comment=body.comment,
        items_together=False,
    )
    return _result(session, outcome)


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
    comments = ReviewService(session, access).add_comments(run_id, targets, body.text)
    return [CommentOut.model_validate(c) for c in comments]


@router.post("/runs/{run_id}/bulk/approve", response_model=ActionResult)
def bulk_approve(run_id: RunId, body: BulkDecisions, access: RunApprover, session: DbSession) -> ActionResult:
    """Approve many pending decisions of the run (none may be your own: 403 maker-checker)."""
    refs = [(d.id, d.version) for d in body.decisions]
    outcome = ReviewService(session, access).check(run_id, refs, approve=True, comment=body.comment)
    return _result(session, outcome)


@router.post("/runs/{run_id}/bulk/reject-decisions", response_model=ActionResult)
def bulk_reject_decisions(
    run_id: RunId, body: BulkDecisions, access: RunApprover, session: DbSession
) -> ActionResult:
    """Reject many pending decisions of the run (`comment` required); their groups and records go back."""
    refs = [(d.id, d.version) for d in body.decisions]
    outcome = ReviewService(session, access).check(run_id, refs, approve=False, comment=body.comment)
    return _result(session, outcome)


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
    filters = DecisionFilter(
        status=status_.value if status_ else None,
        kind=kind.value if kind else None,
        maker_id=maker_id,
        run_id=run_id,
    )
    return (
        DecisionRepository(session)
        .page_for_project(access.project.id, filters, page)
        .map(DecisionOut.model_validate)
    )


@router.get("/decisions/{decision_id}", response_model=DecisionOut)
def get_decision(decision_id: ResourceId, access: DecisionViewer, session: DbSession) -> DecisionOut:
    return DecisionOut.model_validate(
        DecisionRepository(session).get_in_project_or_404(access.project.id, decision_id)
    )


def _check_one(
    decision_id: str, body: Approve | RejectDecision, approve: bool, access: ProjectAccess, session: Session
) -> ActionResult:
    service = ReviewService(session, access)
    run_id = service.decision_run_id(decision_id)
    outcome = service.check(
        run_id,
        [(decision_id, body.version)],
        approve=approve,
        comment=body.comment,
        field_of=single_field("decision_id"),
    )
    return _result(session, outcome)


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
def _run_in(session: Session, access: ProjectAccess, run_id: str) -> str:
    project_id = access.project.id
    found = session.scalar(select(Run.id).where(Run.id == run_id, Run.project_id == project_id))
    if found is None:
        raise NotFound("run not found")
    return found


@router.get("/runs/{run_id}/open-exceptions", response_model=OpenExceptions)
def get_open_exceptions(run_id: RunId, access: RunViewer, session: DbSession) -> OpenExceptions:
    """What keeps the run from being signed off (all zero: it can be)."""
    return signoff.open_exceptions(session, _run_in(session, access, run_id))


@router.post("/runs/{run_id}/sign-off", response_model=SignOffOut)
def sign_off(run_id: RunId, body: SignOff, access: RunApprover, session: DbSession) -> SignOffOut:
    """Certify the run complete (approver+). Refused (409 open-exceptions) while anything is open; the run is
    frozen afterwards: every review action answers 409 run-signed-off."""
    return signoff.sign_off(session, access, run_id, body.comment)


@router.post("/runs/{run_id}/reopen", response_model=SignOffOut)
def reopen(run_id: RunId, body: Reopen, access: RunAdmin, session: DbSession) -> SignOffOut:
    """Reopen a signed-off run (admin+, `comment` required); an audited event."""
    return signoff.reopen(session, access, run_id, body.comment)
