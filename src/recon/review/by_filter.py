"""Bulk actions on everything a filter selects: the groups or records are read again under the run's lock,
counted against what the user confirmed, then handed to the same review actions as a list of refs."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from sqlalchemy.orm import Session

from recon.auth.access import ProjectAccess
from recon.core.errors import Conflict, FieldError, Unprocessable, problem_type
from recon.core.time import utcnow
from recon.models.review import DecisionKind
from recon.models.runs import ItemState
from recon.results.repository import GroupFilters, ItemFilters, ResultsRepository, Window
from recon.review.schemas import (
    MAX_BY_FILTER,
    BulkByFilter,
    BulkByFilterResult,
    GroupSelection,
    ItemSelection,
    SelectionWindow,
)
from recon.review.service import Outcome, ReviewService

GROUP_KINDS = {
    "confirm": DecisionKind.CONFIRM,
    "reject": DecisionKind.REJECT,
    "unmatch": DecisionKind.UNMATCH,
}


def _window(s: SelectionWindow) -> dict[str, Any]:
    """The filters groups and records share (`Window`: amounts, dates, text, assignee, age), by name."""
    return {f.name: getattr(s, f.name) for f in fields(Window)}


def _group_filters(s: GroupSelection) -> GroupFilters:
    return GroupFilters(
        status=tuple(s.status),
        pass_name=s.pass_name,
        min_score=s.min_score,
        difference_min=s.difference_min,
        difference_max=s.difference_max,
        **_window(s),
    )


def _item_filters(s: ItemSelection) -> ItemFilters:
    return ItemFilters(
        side=s.side, state=ItemState.UNMATCHED, reason=tuple(r.value for r in s.reason), **_window(s)
    )


def bulk_by_filter(
    session: Session, access: ProjectAccess, run_id: str, body: BulkByFilter
) -> BulkByFilterResult:
    """Act on the selection; how many groups or records it touched and how many decisions it made."""
    outcome = _act(ReviewService(session, access), run_id, body)
    session.flush()
    touched = len(outcome.group_ids) if body.groups is not None else len(outcome.item_ids)
    return BulkByFilterResult(touched=touched, decisions=len(outcome.decisions))


def _act(service: ReviewService, run_id: str, body: BulkByFilter) -> Outcome:
    session = service.session
    # Lock first (exclusive: write-offs of records number new groups), so the selection cannot change
    # between counting it and acting on it.
    run = service.open_run(run_id, exclusive=True)
    results, today = ResultsRepository(session), utcnow().date()
    if body.groups is not None:
        refs = results.group_refs(run.id, _group_filters(body.groups), today, MAX_BY_FILTER + 1)
    else:
        assert body.unmatched is not None
        refs = results.item_refs(run.id, _item_filters(body.unmatched), today, MAX_BY_FILTER + 1)
    what = "groups" if body.groups is not None else "records"
    if len(refs) > MAX_BY_FILTER:
        raise Unprocessable(
            f"the filter selects more than {MAX_BY_FILTER:,} {what}; narrow it down",
            errors=[FieldError(field=f"{what.replace('records', 'unmatched')}", message="too many")],
        )
    if len(refs) != body.expected_count:
        raise Conflict(
            f"the filter now selects {len(refs)} {what}, not the {body.expected_count} you confirmed; "
            "nothing was changed: look again and confirm the new count",
            type=problem_type("selection-changed"),
            title="Selection changed",
            errors=[FieldError(field="expected_count", message=f"now {len(refs)}")],
        )
    if not refs:
        return Outcome()
    if body.action == "assign":
        groups, items = (refs, []) if body.groups is not None else ([], refs)
        return service.assign(run.id, groups=groups, items=items, assignee_id=body.assignee_id)
    if body.action == "writeoff":
        if body.reason_code is None:
            raise Unprocessable(
                "a write-off needs a reason code",
                errors=[FieldError(field="reason_code", message="required for writeoff")],
            )
        groups, items = (refs, []) if body.groups is not None else ([], refs)
        return service.write_off(
            run.id,
            groups=groups,
            items=items,
            reason_code=body.reason_code,
            comment=body.comment,
            items_together=False,
        )
    return service.decide_groups(
        run.id,
        GROUP_KINDS[body.action],
        refs,
        comment=body.comment,
        reason_code=body.reason_code if body.action == "confirm" else None,
        reason_field="reason_code",
    )
