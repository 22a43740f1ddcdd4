"""Queries over a run's groups and items: filters that map onto the results indexes, keyset pages, and one
query for the members of a page of groups."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, Select, exists, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from recon.core.pagination import PageParams
from recon.models.runs import GroupStatus, ItemState, MatchGroup, RunItem, Side
from recon.results.keyset import KeysetPage, Order, keyset_rows
from recon.results.schemas import GroupOut, GroupSort, ItemOut, ItemSort


@dataclass(frozen=True)
class Window:
    """Filters shared by groups and items."""

    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    q: str | None = None
    assignee_id: str | None = None
    min_age: int | None = None
    max_age: int | None = None


@dataclass(frozen=True)
class GroupFilters(Window):
    status: Sequence[GroupStatus] = field(default_factory=tuple)
    pass_name: str | None = None
    difference_min: Decimal | None = None  # on |difference|
    difference_max: Decimal | None = None


@dataclass(frozen=True)
class ItemFilters(Window):
    side: Side | None = None
    state: ItemState | None = None
    reason: Sequence[str] = field(default_factory=tuple)


GROUP_TABLE = MatchGroup.__table__
ITEM_TABLE = RunItem.__table__
# Lists read Core rows (no ORM identity map): a page of 1000 groups with 2000 members is built ~4x faster.
GROUP_COLUMNS = [GROUP_TABLE.c[name] for name in GroupOut.model_fields if name not in ("members", "age_days")]
ITEM_COLUMNS = [ITEM_TABLE.c[name] for name in ItemOut.model_fields if name != "age_days"]


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def text_match(q: str) -> ColumnElement[bool]:
    pattern = _like(q)
    return or_(
        *(
            column.ilike(pattern, escape="\\")
            for column in (RunItem.reference, RunItem.counterparty, RunItem.description, RunItem.ext_id)
        )
    )


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def age_bounds(column: Any, min_age: int | None, max_age: int | None, today: dt.date) -> list[Any]:
    """age_days = today - opened_at's date (UTC): min/max age as bounds on opened_at."""
    clauses = []
    if min_age is not None:
        clauses.append(column < _midnight(today - dt.timedelta(days=min_age - 1)))
    if max_age is not None:
        clauses.append(column >= _midnight(today - dt.timedelta(days=max_age)))
    return clauses


def _range(column: Any, low: Any, high: Any) -> list[Any]:
    return [
        c
        for c in (column >= low if low is not None else None, column <= high if high is not None else None)
        if c is not None
    ]


# Groups are walked by seq, unique in the run and increasing with id: every order is an index range scan of
# (run_id, [status,] column, seq).
GROUP_ORDERS = {
    GroupSort.SEQ: Order(MatchGroup.seq, MatchGroup.seq),
    GroupSort.AMOUNT: Order(MatchGroup.left_total, MatchGroup.seq),
    # Age grows as opened_at goes back: "age" ascending is opened_at descending.
    GroupSort.AGE: Order(MatchGroup.opened_at, MatchGroup.seq, descending=True, nullable=True),
    GroupSort.SCORE: Order(MatchGroup.score, MatchGroup.seq, nullable=True),
}
ITEM_ORDERS = {
    ItemSort.ID: Order(RunItem.id, RunItem.id),
    ItemSort.AMOUNT: Order(RunItem.amount, RunItem.id, nullable=True),
    ItemSort.DATE: Order(RunItem.date, RunItem.id, nullable=True),
    ItemSort.AGE: Order(RunItem.opened_at, RunItem.id, descending=True, nullable=True),
}


def resolve(orders: dict[Any, Order], sort: str) -> Order:
    """`-name` reverses `name`."""
    base = orders[type(next(iter(orders)))(sort.removeprefix("-"))]
    if not sort.startswith("-"):
        return base
    return Order(base.column, base.key, descending=not base.descending, nullable=base.nullable)


class ResultsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- groups ---------------------------------------------------------------------------------------------
    def group_page(
        self, run_id: str, filters: GroupFilters, sort: GroupSort, params: PageParams, today: dt.date
    ) -> KeysetPage:
        stmt: Select[Any] = select(*GROUP_COLUMNS).where(MatchGroup.run_id == run_id)
        f = filters
        if len(f.status) == 1:
            stmt = stmt.where(MatchGroup.status == f.status[0].value)
        elif f.status:
            stmt = stmt.where(MatchGroup.status.in_([s.value for s in f.status]))
        if f.pass_name is not None:
            stmt = stmt.where(MatchGroup.pass_name == f.pass_name)
        stmt = stmt.where(*_range(MatchGroup.left_total, f.amount_min, f.amount_max))
        stmt = stmt.where(*_range(func.abs(MatchGroup.difference), f.difference_min, f.difference_max))
        if f.assignee_id is not None:
            stmt = stmt.where(MatchGroup.assignee_id == f.assignee_id)
        stmt = stmt.where(*age_bounds(MatchGroup.opened_at, f.min_age, f.max_age, today))
        member = [RunItem.run_id == run_id, RunItem.group_id == MatchGroup.id]
        if f.date_from is not None or f.date_to is not None:
            stmt = stmt.where(exists().where(*member, *_range(RunItem.date, f.date_from, f.date_to)))
        if f.q:
            stmt = stmt.where(exists().where(*member, text_match(f.q)))
        order = resolve(GROUP_ORDERS, sort)
        name = order.column.key
        return keyset_rows(
            self.session, stmt, order, params, lambda g: (g._mapping[name], g.seq), scalars=False
        )

    def group(self, run_id: str, group_id: int) -> Row[Any] | None:
        return self.session.execute(
            select(*GROUP_COLUMNS).where(MatchGroup.run_id == run_id, MatchGroup.id == group_id)
        ).first()

    def members(self, run_id: str, group_ids: Sequence[int]) -> dict[int, list[Row[Any]]]:
        """The members of these groups (one query), left side first, each side in file order."""
        found: dict[int, list[Row[Any]]] = {gid: [] for gid in group_ids}
        if not group_ids:
            return found
        ids = sorted(group_ids)
        rows = self.session.execute(
            select(*ITEM_COLUMNS)
            .where(
                RunItem.run_id == run_id,
                # The range keeps the plan on the (run_id, group_id) index even without fresh statistics.
                RunItem.group_id.between(ids[0], ids[-1]),
                RunItem.group_id.in_(ids),
            )
            .order_by(RunItem.group_id, RunItem.side, RunItem.row_no)
        )
        for item in rows:
            found[item.group_id].append(item)
        return found

    # -- items ----------------------------------------------------------------------------------------------
    def item_page(
        self, run_id: str, filters: ItemFilters, sort: ItemSort, params: PageParams, today: dt.date
    ) -> KeysetPage:
        f = filters
        stmt: Select[Any] = select(*ITEM_COLUMNS).where(RunItem.run_id == run_id)
        if f.side is not None:
            stmt = stmt.where(RunItem.side == f.side.value)
        if f.state is not None:
            stmt = stmt.where(RunItem.state == f.state.value)
        if len(f.reason) == 1:
            stmt = stmt.where(RunItem.reason == f.reason[0])
        elif f.reason:
            stmt = stmt.where(RunItem.reason.in_(list(f.reason)))
        stmt = stmt.where(*_range(RunItem.amount, f.amount_min, f.amount_max))
        stmt = stmt.where(*_range(RunItem.date, f.date_from, f.date_to))
        if f.q:
            stmt = stmt.where(text_match(f.q))
        if f.assignee_id is not None:
            stmt = stmt.where(RunItem.assignee_id == f.assignee_id)
        stmt = stmt.where(*age_bounds(RunItem.opened_at, f.min_age, f.max_age, today))
        order = resolve(ITEM_ORDERS, sort)
        name = order.column.key
        return keyset_rows(
            self.session, stmt, order, params, lambda i: (i._mapping[name], i.id), scalars=False
        )

    def item(self, run_id: str, item_id: int) -> Row[Any] | None:
        return self.session.execute(
            select(*ITEM_COLUMNS).where(RunItem.run_id == run_id, RunItem.id == item_id)
        ).first()
