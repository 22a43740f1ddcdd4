"""Keyset pages over one sort column plus the primary key, fast at any depth.

The "after the cursor" condition is a row-value comparison, `(col, id) > (:v, :id)`, which PostgreSQL and
SQLite turn into an index range scan on an index `(..., col, id)` whose leading columns are fixed by equality
filters: a page deep in a million rows costs what the first page costs (no OFFSET, no sort of the run).
A nullable sort column is walked as two segments, non-null values then nulls (NULLS LAST ascending;
NULLS FIRST descending, i.e. the exact reverse), each with its own index-friendly condition.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, tuple_
from sqlalchemy.orm import Session

from recon.core.pagination import PageParams, decode_cursor, encode_cursor


@dataclass(frozen=True)
class Order:
    """Sort by `column` (then `key`, the unique tiebreaker) in one direction."""

    column: Any
    key: Any
    descending: bool = False
    nullable: bool = False

    @property
    def single(self) -> bool:
        return self.column is self.key


@dataclass
class KeysetPage:
    rows: list[Any]
    next_cursor: str | None


def _bind(column: Any, value: Any) -> Any:
    return bindparam(None, value, type_=column.type)


def _segment(stmt: Select[Any], order: Order, nulls: bool, after: Sequence[Any] | None) -> Select[Any]:
    """The rows of one segment (null or non-null sort values), after `after`, in order."""
    col, key = order.column, order.key
    if order.single:
        if after is not None:
            stmt = stmt.where(key < _bind(key, after[1]) if order.descending else key > _bind(key, after[1]))
        return stmt.order_by(key.desc() if order.descending else key.asc())
    if nulls:
        stmt = stmt.where(col.is_(None))
        if after is not None:
            stmt = stmt.where(key < _bind(key, after[1]) if order.descending else key > _bind(key, after[1]))
        return stmt.order_by(key.desc() if order.descending else key.asc())
    if order.nullable:
        stmt = stmt.where(col.is_not(None))
    if after is not None:
        pair, bound = tuple_(col, key), tuple_(_bind(col, after[0]), _bind(key, after[1]))
        stmt = stmt.where(pair < bound if order.descending else pair > bound)
    return stmt.order_by(*((col.desc(), key.desc()) if order.descending else (col.asc(), key.asc())))


def keyset_rows(
    session: Session,
    stmt: Select[Any],
    order: Order,
    params: PageParams,
    key_of: Callable[[Any], tuple[Any, Any]],
    *,
    scalars: bool = True,
) -> KeysetPage:
    """One page of `stmt` in `order`. `key_of(row)` gives (sort value, key) of a row."""
    after = decode_cursor(params.cursor, 2) if params.cursor else None
    # Segments in walking order: False = non-null values, True = nulls.
    segments = [False] if order.single or not order.nullable else [False, True]
    if order.descending:
        segments.reverse()
    if after is not None and not order.single and order.nullable:
        segments = segments[segments.index(after[0] is None) :]
    rows: list[Any] = []
    for index, nulls in enumerate(segments):
        wanted = params.limit + 1 - len(rows)
        query = _segment(stmt, order, nulls, after if index == 0 else None).limit(wanted)
        result = session.execute(query)
        rows.extend(result.scalars().all() if scalars else result.all())
        if len(rows) > params.limit:
            break
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    cursor = encode_cursor(list(key_of(rows[-1]))) if more and rows else None
    return KeysetPage(rows=rows, next_cursor=cursor)
