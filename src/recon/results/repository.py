"""Queries over a run's groups and items: filters that map onto the results indexes, keyset pages, and one
query for the members of a page of groups."""

from __future__ import annotations

import datetime as dt
import heapq
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import lru_cache
from itertools import islice
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from recon.core.db import driver_rows
from recon.core.money import stored_money
from recon.core.pagination import (
    Page,
    PageParams,
    SortKey,
    after_key,
    decode_cursor,
    encode_cursor,
    keyset_page,
    order_by,
)
from recon.core.time import ensure_utc
from recon.models.runs import (
    UNLISTED,
    GroupStatus,
    ItemState,
    MatchedGroupAmount,
    MatchGroup,
    RunItem,
    Side,
)
from recon.models.types import money_sum
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
    min_score: float | None = None


@dataclass(frozen=True)
class ItemFilters(Window):
    side: Side | None = None
    state: ItemState | None = None
    reason: Sequence[str] = field(default_factory=tuple)


GROUP_TABLE = MatchGroup.__table__
ITEM_TABLE = RunItem.__table__
# Lists read Core rows (no ORM identity map): a page of 1000 groups with 2000 members is built ~4x faster.
# The explanation is read as its stored JSON text: a page splices it into the response as it is instead of
# parsing and serialising it again (that was the largest Python cost of a page of 1000 groups).
EXPLANATION_TEXT = cast(MatchGroup.explanation, Text).label("explanation")
# Money is read as the driver returns it (SQLite: the sortable text; PostgreSQL: Decimal) and rendered by
# `render_stored_amount`: on SQLite the text -> Decimal -> text round trip was ~45 ms of a 1000-group page.
GROUP_MONEY = ("left_total", "right_total", "difference", "writeoff_amount")
ITEM_MONEY = ("amount",)
# Lists read the driver's tuples (recon.core.db.driver_rows): the columns of those rows, in order.


def _raw(column: Any) -> Any:
    return type_coerce(column, NullType()).label(column.key)


GROUP_COLUMNS = [
    EXPLANATION_TEXT
    if name == "explanation"
    else _raw(GROUP_TABLE.c[name])
    if name in GROUP_MONEY
    else GROUP_TABLE.c[name]
    for name in GroupOut.model_fields
    if name not in ("members", "age_days")
]
ITEM_COLUMNS = [
    _raw(ITEM_TABLE.c[name]) if name in ITEM_MONEY else ITEM_TABLE.c[name]
    for name in ItemOut.model_fields
    if name != "age_days"
]
GROUP_FIELDS = tuple(column.key for column in GROUP_COLUMNS)
ITEM_FIELDS = tuple(column.key for column in ITEM_COLUMNS)
GROUP_ID = GROUP_FIELDS.index("id")
MEMBER_GROUP_ID = ITEM_FIELDS.index("group_id")


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


def _abs_range(column: Any, low: Decimal | None, high: Decimal | None) -> list[Any]:
    """low <= |column| <= high as plain comparisons (money is text on SQLite: no SQL abs() of it)."""
    clauses: list[Any] = []
    if low is not None and low > 0:
        clauses.append(or_(column >= low, column <= -low))
    if high is not None:
        clauses.append(and_(column >= -high, column <= high))
    return clauses


# Groups are walked by seq, unique in the run and increasing with id: every order is an index range scan of
# (run_id, [status,] column, seq).
SortKeys = tuple[SortKey, ...]
GROUP_ORDERS: dict[GroupSort, SortKeys] = {
    GroupSort.SEQ: (SortKey(MatchGroup.seq),),
    GroupSort.AMOUNT: (SortKey(MatchGroup.left_total), SortKey(MatchGroup.seq)),
    # Age grows as opened_at goes back: "age" ascending is opened_at descending.
    GroupSort.AGE: (
        SortKey(MatchGroup.opened_at, descending=True, nullable=True),
        SortKey(MatchGroup.seq, descending=True),
    ),
    GroupSort.SCORE: (SortKey(MatchGroup.score, nullable=True), SortKey(MatchGroup.seq)),
}
ITEM_ORDERS: dict[ItemSort, SortKeys] = {
    ItemSort.ID: (SortKey(RunItem.id),),
    ItemSort.AMOUNT: (SortKey(RunItem.amount, nullable=True), SortKey(RunItem.id)),
    ItemSort.DATE: (SortKey(RunItem.date, nullable=True), SortKey(RunItem.id)),
    ItemSort.AGE: (
        SortKey(RunItem.opened_at, descending=True, nullable=True),
        SortKey(RunItem.id, descending=True),
    ),
}


def resolve(orders: Mapping[Any, SortKeys], sort: str) -> SortKeys:
    """`-name` reverses `name` (every key, so the whole order is the exact reverse)."""
    base = orders[type(next(iter(orders)))(sort.removeprefix("-"))]
    if not sort.startswith("-"):
        return base
    return tuple(replace(key, descending=not key.descending) for key in base)


@lru_cache(maxsize=16_384)
def stored_utc(value: dt.datetime | str | None) -> dt.datetime | None:
    """A UTC datetime column as the driver returns it (SQLite: ISO text without offset; PostgreSQL: aware, in
    the session's zone) as aware UTC, what `UTCDateTime` reads. Cached: a run's exceptions open at a few
    times, and a page holds thousands of them."""
    if value is None:
        return None
    return ensure_utc(dt.datetime.fromisoformat(value) if isinstance(value, str) else value)


def stored_date(value: dt.date | str | None) -> dt.date | None:
    """A date column as the driver returns it (SQLite: ISO text) as a date."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _key_reader(name: str) -> Callable[[Any], Any]:
    if name in GROUP_MONEY or name in ITEM_MONEY:
        return lambda v: None if v is None else stored_money(v)
    if name in ("opened_at", "closed_at"):
        return stored_utc
    if name == "date":
        return stored_date
    return lambda v: v


def _key_of(keys: SortKeys, names: Sequence[str]) -> Callable[[Sequence[Any]], list[Any]]:
    """The cursor's key of a driver row (columns in `names` order), typed like the key columns (money as
    Decimal, times as aware UTC), as every cursor holds them."""
    positions = [names.index(key.name) for key in keys]
    readers = [_key_reader(key.name) for key in keys]

    def key(row: Sequence[Any]) -> list[Any]:
        return [read(row[i]) for i, read in zip(positions, readers, strict=True)]

    return key


# The predicate of the partial "open" indexes, written out literally: SQLite uses a partial index only when
# the query's WHERE contains the index's own term (it does not prove `state = 'unmatched'` implies
# `state <> 'matched'`, nor with a bound parameter); without it every exception list scanned and sorted the
# run's rows on SQLite (docs/adr/0016-results-lists-and-storage.md). PostgreSQL proves it either way.
OPEN_GROUP = MatchGroup.status != literal_column(f"'{GroupStatus.MATCHED}'")
OPEN_ITEM = RunItem.state != literal_column(f"'{ItemState.MATCHED}'")


def filtered_groups(stmt: Any, run_id: str, f: GroupFilters, today: dt.date) -> Any:
    """`stmt` (over match_groups) narrowed to the run's groups that the filters select."""
    stmt = stmt.where(MatchGroup.run_id == run_id)
    if f.status and GroupStatus.MATCHED not in f.status:
        stmt = stmt.where(OPEN_GROUP)
    if len(f.status) == 1:
        stmt = stmt.where(MatchGroup.status == f.status[0].value)
    elif f.status:
        stmt = stmt.where(MatchGroup.status.in_([s.value for s in f.status]))
    if f.pass_name is not None:
        stmt = stmt.where(MatchGroup.pass_name == f.pass_name)
    if f.min_score is not None:
        stmt = stmt.where(MatchGroup.score >= f.min_score)
    stmt = stmt.where(*_range(MatchGroup.left_total, f.amount_min, f.amount_max))
    stmt = stmt.where(*_abs_range(MatchGroup.difference, f.difference_min, f.difference_max))
    if f.assignee_id is not None:
        stmt = stmt.where(MatchGroup.assignee_id == f.assignee_id)
    stmt = stmt.where(*age_bounds(MatchGroup.opened_at, f.min_age, f.max_age, today))
    member = [RunItem.run_id == run_id, RunItem.group_id == MatchGroup.id]  # run_id: one partition
    if f.date_from is not None or f.date_to is not None:
        stmt = stmt.where(exists().where(*member, *_range(RunItem.date, f.date_from, f.date_to)))
    if f.q:
        stmt = stmt.where(exists().where(*member, text_match(f.q)))
    return stmt


def filtered_items(stmt: Any, run_id: str, f: ItemFilters, today: dt.date) -> Any:
    """`stmt` (over run_items) narrowed to the run's records that the filters select."""
    stmt = stmt.where(RunItem.run_id == run_id)
    if f.side is not None:
        stmt = stmt.where(RunItem.side == f.side.value)
    if f.state is not None:
        stmt = stmt.where(RunItem.state == f.state.value)
        if f.state != ItemState.MATCHED:
            stmt = stmt.where(OPEN_ITEM)
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
    return stmt.where(*age_bounds(RunItem.opened_at, f.min_age, f.max_age, today))


# The members of a page of groups, built once (0.5 ms of a 100-group page was building it). One seek per group
# in the (run_id, group_id, side, row_no) index, which hands each group's rows over in order (no sort). No
# `BETWEEN min AND max` beside it: for a page sorted by amount the ids spread over the run and SQLite walked
# the whole range (100 groups: 151 -> 20 ms at 100k x 100k). The page's ids are one bound value, not one per
# group: an expanding IN renders and binds 1000 parameters for a 1000-group page (PostgreSQL: 5.9 -> 2.6 ms
# of the API's CPU as one array, SQLite 5.9 -> 5.4 ms as one JSON array; docs/adr/0026, 2026-12-07).
def _members(in_page: ColumnElement[bool]) -> Any:
    return (
        select(*ITEM_COLUMNS)
        .where(RunItem.run_id == bindparam("run_id"), in_page)
        .order_by(RunItem.group_id, RunItem.side, RunItem.row_no)
    )


# dialect -> (the statement, the bound value of the page's sorted ids)
MEMBERS: dict[str, tuple[Any, Callable[[list[int]], Any]]] = {
    "sqlite": (_members(RunItem.group_id.in_(text("SELECT value FROM json_each(:group_ids)"))), json.dumps),
    "postgresql": (
        _members(RunItem.group_id == any_(bindparam("group_ids", type_=ARRAY(BigInteger)))),
        list,
    ),
}


# Groups by amount (docs/adr/0031): the engine's matched groups are read from matched_group_amounts (in
# amount order) joined to their group while it is still matched; every other group from the partial amount
# index of match_groups, whose predicate the query repeats literally (SQLite, see OPEN_GROUP). The two sets
# are disjoint and together every group: a page is the merge of the first rows of each.
UNLISTED_GROUP = text(f"({UNLISTED})")
AMOUNTS = MatchedGroupAmount.__table__
LISTED_JOIN = AMOUNTS.join(GROUP_TABLE, GROUP_TABLE.c.id == AMOUNTS.c.group_id)


def amount_sorted(sort: GroupSort) -> bool:
    return sort in (GroupSort.AMOUNT, GroupSort.AMOUNT_DESC)


def listed_matched(run_id: str, f: GroupFilters, today: dt.date) -> Any:
    """The groups the filters select that matched_group_amounts lists and that are still matched (walked in
    its key, `listed_keys`); None when the filters exclude matched groups."""
    if f.status and GroupStatus.MATCHED not in f.status:
        return None
    only_matched = replace(f, status=(GroupStatus.MATCHED,))
    stmt = filtered_groups(select(*GROUP_COLUMNS).select_from(LISTED_JOIN), run_id, only_matched, today)
    return stmt.where(AMOUNTS.c.run_id == run_id, *_range(AMOUNTS.c.left_total, f.amount_min, f.amount_max))


def listed_keys(keys: SortKeys) -> SortKeys:
    """The amount keys on matched_group_amounts' columns (same values as the group's)."""
    return tuple(replace(key, column=AMOUNTS.c[key.name]) for key in keys)


def unlisted_groups(run_id: str, f: GroupFilters, today: dt.date) -> Any:
    """The groups the filters select that the partial amount index holds."""
    return filtered_groups(select(*GROUP_COLUMNS), run_id, f, today).where(UNLISTED_GROUP)


class ResultsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def _core(self) -> Connection:
        """The session's connection (same transaction): the lists read Core rows without the ORM's row
        loading (docs/adr/0016)."""
        return self.session.connection()

    # -- groups ---------------------------------------------------------------------------------------------
    def group_page(
        self, run_id: str, filters: GroupFilters, sort: GroupSort, params: PageParams, today: dt.date
    ) -> Page[tuple[Any, ...]]:
        """A page of groups as driver tuples (GROUP_FIELDS)."""
        keys = resolve(GROUP_ORDERS, sort)
        key_of = _key_of(keys, GROUP_FIELDS)
        if amount_sorted(sort):
            return self._amount_page(run_id, filters, keys, params, today, key_of=key_of)
        stmt = filtered_groups(select(*GROUP_COLUMNS), run_id, filters, today)
        return keyset_page(self._core, stmt, keys, params, scalars=False, key_of=key_of, driver=True)

    def _amount_page(
        self,
        run_id: str,
        filters: GroupFilters,
        keys: SortKeys,
        params: PageParams,
        today: dt.date,
        *,
        key_of: Callable[[Sequence[Any]], list[Any]],
    ) -> Page[tuple[Any, ...]]:
        """Groups by amount: the merge of the unlisted groups' page (it checks the cursor) and the first
        `limit + 1` listed matched groups after the cursor."""
        core = self._core
        unlisted = keyset_page(
            core,
            unlisted_groups(run_id, filters, today),
            keys,
            params,
            scalars=False,
            key_of=key_of,
            driver=True,
        )
        listed_stmt = listed_matched(run_id, filters, today)
        if listed_stmt is None:
            return unlisted
        on_amounts = listed_keys(keys)
        if params.cursor:
            listed_stmt = listed_stmt.where(after_key(on_amounts, decode_cursor(params.cursor, len(keys))))
        listed_stmt = listed_stmt.order_by(*order_by(on_amounts)).limit(params.limit + 1)
        listed = driver_rows(core.execute(listed_stmt))
        merged = heapq.merge(unlisted.items, listed, key=key_of, reverse=keys[0].descending)
        rows = list(islice(merged, params.limit + 1))
        # More rows exist when the merge has one beyond the page, or the unlisted ones go on past theirs.
        has_more = len(rows) > params.limit or unlisted.next_cursor is not None
        rows = rows[: params.limit]
        next_cursor = encode_cursor(key_of(rows[-1])) if has_more and rows else None
        return Page[tuple[Any, ...]].model_construct(items=rows, next_cursor=next_cursor)

    def group_totals(
        self, run_id: str, filters: GroupFilters, today: dt.date
    ) -> list[tuple[str | None, int, Decimal, Decimal, Decimal]]:
        """(currency, groups, left total, right total, difference) of the groups the filters select."""
        columns = (
            MatchGroup.currency,
            func.count(),
            money_sum(MatchGroup.left_total),
            money_sum(MatchGroup.right_total),
            money_sum(MatchGroup.difference),
        )
        stmt = filtered_groups(select(*columns), run_id, filters, today).group_by(MatchGroup.currency)
        return [
            (currency, int(n), left or Decimal(0), right or Decimal(0), diff or Decimal(0))
            for currency, n, left, right, diff in self.session.execute(stmt)
        ]

    def group_refs(
        self, run_id: str, filters: GroupFilters, today: dt.date, limit: int
    ) -> list[tuple[int, int]]:
        """(id, version) of the groups the filters select, in creation order, at most `limit`."""
        stmt = filtered_groups(select(MatchGroup.id, MatchGroup.version), run_id, filters, today)
        return [(gid, v) for gid, v in self.session.execute(stmt.order_by(MatchGroup.seq).limit(limit))]

    def status_counts(self, run_id: str) -> dict[str, int]:
        stmt = (
            select(MatchGroup.status, func.count())
            .where(MatchGroup.run_id == run_id)
            .group_by(MatchGroup.status)
        )
        return {status: int(n) for status, n in self.session.execute(stmt)}

    def unmatched_counts(self, run_id: str) -> dict[str, int]:
        stmt = (
            select(RunItem.side, func.count())
            .where(RunItem.run_id == run_id, RunItem.state == ItemState.UNMATCHED)
            .group_by(RunItem.side)
        )
        return {side: int(n) for side, n in self.session.execute(stmt)}

    def group(self, run_id: str, group_id: int) -> tuple[Any, ...] | None:
        """One group as a driver tuple (GROUP_FIELDS), like the rows of `group_page`."""
        stmt = select(*GROUP_COLUMNS).where(MatchGroup.run_id == run_id, MatchGroup.id == group_id)
        rows = driver_rows(self._core.execute(stmt))
        return rows[0] if rows else None

    def members(self, run_id: str, group_ids: Sequence[int]) -> dict[int, list[tuple[Any, ...]]]:
        """The members of these groups as driver tuples (ITEM_FIELDS; one query), left side first, each
        side in file order."""
        found: dict[int, list[tuple[Any, ...]]] = {gid: [] for gid in group_ids}
        if not group_ids:
            return found
        core = self._core
        stmt, bound = MEMBERS[core.dialect.name]
        result = core.execute(stmt, {"run_id": run_id, "group_ids": bound(sorted(group_ids))})
        for item in driver_rows(result):
            found[item[MEMBER_GROUP_ID]].append(item)
        return found

    # -- items ----------------------------------------------------------------------------------------------
    def item_page(
        self, run_id: str, filters: ItemFilters, sort: ItemSort, params: PageParams, today: dt.date
    ) -> Page[tuple[Any, ...]]:
        """A page of records as driver tuples (ITEM_FIELDS)."""
        stmt = filtered_items(select(*ITEM_COLUMNS), run_id, filters, today)
        keys = resolve(ITEM_ORDERS, sort)
        key_of = _key_of(keys, ITEM_FIELDS)
        return keyset_page(self._core, stmt, keys, params, scalars=False, key_of=key_of, driver=True)

    def item_totals(
        self, run_id: str, filters: ItemFilters, today: dt.date
    ) -> list[tuple[str | None, int, Decimal]]:
        """(currency, records, amount) of the records the filters select."""
        columns = (RunItem.currency, func.count(), money_sum(RunItem.amount))
        stmt = filtered_items(select(*columns), run_id, filters, today).group_by(RunItem.currency)
        return [
            (currency, int(n), amount or Decimal(0)) for currency, n, amount in self.session.execute(stmt)
        ]

    def item_refs(
        self, run_id: str, filters: ItemFilters, today: dt.date, limit: int
    ) -> list[tuple[int, int]]:
        """(id, version) of the records the filters select, in id order, at most `limit`."""
        stmt = filtered_items(select(RunItem.id, RunItem.version), run_id, filters, today)
        return [(iid, v) for iid, v in self.session.execute(stmt.order_by(RunItem.id).limit(limit))]

    def item(self, run_id: str, item_id: int) -> tuple[Any, ...] | None:
        """One record as a driver tuple (ITEM_FIELDS), like the rows of `item_page`."""
        stmt = select(*ITEM_COLUMNS).where(RunItem.run_id == run_id, RunItem.id == item_id)
        rows = driver_rows(self._core.execute(stmt))
        return rows[0] if rows else None
