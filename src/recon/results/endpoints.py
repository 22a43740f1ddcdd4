"""HTTP surface of a run's results: groups (with members), unmatched items, one group, one item."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from recon.core.db import DbSession
from recon.core.pagination import Page, Pagination
from recon.core.params import ResourceId
from recon.models.runs import GroupStatus, ItemState, Side, UnmatchedReason
from recon.results.repository import GroupFilters, ItemFilters
from recon.results.schemas import (
    GroupOut,
    GroupSort,
    GroupTotals,
    ItemOut,
    ItemSort,
    ItemTotals,
    TabCounts,
)
from recon.results.service import ResultsService
from recon.runs.access import RunViewer

router = APIRouter(prefix="/runs/{run_id}", tags=["results"])


def _json(content: bytes) -> Response:
    # List pages come as JSON bytes built from Core rows (see ResultsService.groups): a page of 1000 groups
    # with their members is ~1.5 MB, and ORM objects + response models made it ~4x slower.
    return Response(content=content, media_type="application/json")


RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Row id")]
AmountMin = Annotated[Decimal | None, Query(max_digits=38, allow_inf_nan=False, description="Amount >= this")]
AmountMax = Annotated[Decimal | None, Query(max_digits=38, allow_inf_nan=False, description="Amount <= this")]
DateFrom = Annotated[dt.date | None, Query(description="Date >= this (ISO)")]
DateTo = Annotated[dt.date | None, Query(description="Date <= this (ISO)")]
TextQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="Text in reference, counterparty, description or id"),
]
Assignee = Annotated[str | None, Query(max_length=64, description="Assigned to this user id")]
MinAge = Annotated[int | None, Query(ge=0, le=100_000, description="Open for at least this many days")]
MaxAge = Annotated[int | None, Query(ge=0, le=100_000, description="Open for at most this many days")]


async def group_filters(
    *,
    status: Annotated[list[GroupStatus] | None, Query(description="Group status (repeatable)")] = None,
    pass_name: Annotated[str | None, Query(alias="pass", max_length=200, description="Engine pass")] = None,
    min_score: Annotated[
        float | None, Query(ge=0, le=1, allow_inf_nan=False, description="Score >= this")
    ] = None,
    amount_min: AmountMin = None,
    amount_max: AmountMax = None,
    difference_min: Annotated[
        Decimal | None, Query(max_digits=38, allow_inf_nan=False, description="|difference| >= this")
    ] = None,
    difference_max: Annotated[
        Decimal | None, Query(max_digits=38, allow_inf_nan=False, description="|difference| <= this")
    ] = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    q: TextQuery = None,
    assignee_id: Assignee = None,
    min_age: MinAge = None,
    max_age: MaxAge = None,
) -> GroupFilters:
    return GroupFilters(
        status=tuple(status or ()),
        pass_name=pass_name,
        min_score=min_score,
        amount_min=amount_min,
        amount_max=amount_max,
        difference_min=difference_min,
        difference_max=difference_max,
        date_from=date_from,
        date_to=date_to,
        q=q,
        assignee_id=assignee_id,
        min_age=min_age,
        max_age=max_age,
    )


async def item_filters(
    *,
    side: Annotated[Side, Query(description="left or right")],
    state: Annotated[
        ItemState, Query(description="unmatched (default) or another item state, e.g. pending")
    ] = ItemState.UNMATCHED,
    reason: Annotated[
        list[UnmatchedReason] | None, Query(description="Unmatched reason (repeatable)")
    ] = None,
    amount_min: AmountMin = None,
    amount_max: AmountMax = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    q: TextQuery = None,
    assignee_id: Assignee = None,
    min_age: MinAge = None,
    max_age: MaxAge = None,
) -> ItemFilters:
    return ItemFilters(
        side=side,
        state=state,
        reason=tuple(r.value for r in reason or ()),
        amount_min=amount_min,
        amount_max=amount_max,
        date_from=date_from,
        date_to=date_to,
        q=q,
        assignee_id=assignee_id,
        min_age=min_age,
        max_age=max_age,
    )


# The filters only read the query string: `async` so FastAPI calls them on the event loop instead of a
# thread hop each (a hop is a thread switch, costly on a loaded machine; docs/adr/0026).
GroupFiltersQuery = Annotated[GroupFilters, Depends(group_filters)]
ItemFiltersQuery = Annotated[ItemFilters, Depends(item_filters)]


@router.get("/counts", response_model=TabCounts)
def get_tab_counts(run_id: ResourceId, access: RunViewer, session: DbSession) -> TabCounts:
    """How many groups or records each review tab holds (suggested, breaks, unmatched per side, ...)."""
    return ResultsService(session).tab_counts(access, run_id)


@router.get("/groups/totals", response_model=GroupTotals)
def get_group_totals(
    run_id: ResourceId, access: RunViewer, session: DbSession, filters: GroupFiltersQuery
) -> GroupTotals:
    """How many groups the filters of `GET /groups` select and their exact totals per currency: what a bulk
    action on "everything the filter shows" would touch."""
    return ResultsService(session).group_totals(access, run_id, filters)


@router.get("/groups", response_model=Page[GroupOut])
def list_groups(
    run_id: ResourceId,
    *,
    access: RunViewer,
    session: DbSession,
    page: Pagination,
    filters: GroupFiltersQuery,
    sort: Annotated[
        GroupSort, Query(description="seq (creation order), amount (left total), age, score; '-' reverses")
    ] = GroupSort.SEQ,
) -> Response:
    """Match groups (matched, suggested, break, ...) with their members, score and explanation. Amount
    filters apply to the left total, date and text filters to the members."""
    return _json(ResultsService(session).groups(access, run_id, filters, sort, page))


@router.get("/groups/{group_id}", response_model=GroupOut)
def get_group(run_id: ResourceId, group_id: RowId, access: RunViewer, session: DbSession) -> GroupOut:
    return ResultsService(session).group(access, run_id, group_id)


@router.get("/unmatched/totals", response_model=ItemTotals)
def get_unmatched_totals(
    run_id: ResourceId, access: RunViewer, session: DbSession, filters: ItemFiltersQuery
) -> ItemTotals:
    """How many records the filters of `GET /unmatched` select and their exact amount per currency."""
    return ResultsService(session).item_totals(access, run_id, filters)


@router.get("/unmatched", response_model=Page[ItemOut])
def list_unmatched(
    run_id: ResourceId,
    *,
    access: RunViewer,
    session: DbSession,
    page: Pagination,
    filters: ItemFiltersQuery,
    sort: Annotated[ItemSort, Query(description="id, amount, date, age; '-' reverses")] = ItemSort.ID,
) -> Response:
    """The records of one side without a group, each with its reason, age, assignee and version."""
    return _json(ResultsService(session).items(access, run_id, filters, sort, page))


@router.get("/items/{item_id}", response_model=ItemOut)
def get_item(run_id: ResourceId, item_id: RowId, access: RunViewer, session: DbSession) -> ItemOut:
    return ResultsService(session).item(access, run_id, item_id)
