"""Keyset (cursor) pagination: `{"items": [...], "next_cursor": "<opaque>" | null}`, never OFFSET.

The cursor is url-safe base64 of a JSON list holding the sort key of the last item of the page. Sort keys
must be unique (end them with the primary key). Usage in a repository:

    keys = [SortKey(Project.created_at), SortKey(Project.id)]
    page = keyset_page(session, select(Project).where(...), keys, params)
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Connection, Integer, Select, and_, bindparam, or_, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from recon.core.db import driver_rows
from recon.core.errors import FieldError, Unprocessable

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


U = TypeVar("U")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None

    def map(self, fn: Callable[[T], U]) -> Page[U]:
        """Convert the items (e.g. ORM rows to response schemas), keeping the cursor."""
        return Page[U](items=[fn(item) for item in self.items], next_cursor=self.next_cursor)


@dataclass(frozen=True)
class PageParams:
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


# async: it only reads the query string, so FastAPI calls it on the event loop (no thread hop per request).
async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1..1000)")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=2048, description="`next_cursor` of the previous page")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor or None)


Pagination = Annotated[PageParams, Depends(page_params)]


def _encode_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)  # e.g. UUID, enum values


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, raw),) = value.items()
        if tag == "$dt":
            return dt.datetime.fromisoformat(raw)
        if tag == "$d":
            return dt.date.fromisoformat(raw)
        if tag == "$dec":
            return Decimal(raw)
        raise ValueError(f"unknown tag {tag}")
    return value


def encode_cursor(key: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in key], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, expected_len: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != expected_len:
            raise ValueError("wrong shape")
        return [_decode_value(v) for v in values]
    except (ValueError, binascii.Error, UnicodeDecodeError, TypeError) as exc:
        raise Unprocessable(
            "the cursor is not valid for this list",
            errors=[FieldError(field="query.cursor", message=f"malformed cursor ({type(exc).__name__})")],
        ) from None


@dataclass(frozen=True)
class SortKey:
    """One column of the sort key; `attr` is the attribute name to read it back from a row object.

    Only the first key may be `nullable` (its NULLs come after its values ascending, before them descending,
    on both databases); the keys after it must be NOT NULL and end with a unique column."""

    column: Any  # an ORM attribute or column expression
    descending: bool = False
    attr: str | None = None
    nullable: bool = False

    @property
    def name(self) -> str:
        return self.attr or self.column.key


def _bind(key: SortKey, value: Any) -> Any:
    return bindparam(None, value, type_=key.column.type)


def after_key(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order of `keys` (NULLs not supported here).

    Keys of one direction become one row-value comparison, `(a, b) > (:a, :b)`, which PostgreSQL and SQLite
    answer with a range scan of an index on (..., a, b): a page deep in a million rows costs what the first
    page costs. Mixed directions expand to `a > :a OR (a = :a AND b < :b) ...`."""
    if len(keys) == 1:
        return _beyond(keys[0], values[0])
    if len({key.descending for key in keys}) == 1:
        pair = tuple_(*(key.column for key in keys))
        bound = tuple_(*(_bind(key, value) for key, value in zip(keys, values, strict=True)))
        return pair < bound if keys[0].descending else pair > bound
    return or_(*_steps(keys, values))


def _beyond(key: SortKey, value: Any) -> ColumnElement[bool]:
    """The key's column strictly after `value` in the key's direction."""
    bound = _bind(key, value)
    beyond: ColumnElement[bool] = key.column < bound if key.descending else key.column > bound
    return beyond


def _steps(keys: Sequence[SortKey], values: Sequence[Any]) -> list[ColumnElement[bool]]:
    """Per key, in the keys' order: the keys before it equal to their values and it beyond its own
    (`a > :a`, then `a = :a AND b < :b`, ...); together, every row after `values`."""
    return [
        and_(*(keys[j].column == _bind(keys[j], values[j]) for j in range(i)), _beyond(keys[i], values[i]))
        for i in range(len(keys))
    ]


def order_by(keys: Sequence[SortKey]) -> list[Any]:
    return [k.column.desc() if k.descending else k.column.asc() for k in keys]


def _check_cursor_types(keys: Sequence[SortKey], values: Sequence[Any]) -> None:
    """A forged cursor (null, or a value of another type than its key column) is a 422, not a SQL error."""
    for index, (key, value) in enumerate(zip(keys, values, strict=True)):
        if value is None and index == 0 and key.nullable:
            continue
        column_type = getattr(key.column, "type", None)
        column_type = getattr(column_type, "impl_instance", column_type)  # TypeDecorator: its impl's type
        try:
            expected = column_type.python_type if column_type is not None else object
        except NotImplementedError:
            expected = object
        out_of_range = isinstance(value, int) and not -(2**63) <= value < 2**63
        naive = isinstance(value, dt.datetime) and value.tzinfo is None
        wrong_type = not isinstance(value, expected) or isinstance(value, bool)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            wrong_type = False  # JSON writes 1.0 as 1
        if value is None or wrong_type or out_of_range or naive:
            raise Unprocessable(
                "the cursor is not valid for this list",
                errors=[FieldError(field="query.cursor", message=f"unexpected value for {key.name}")],
            )


def _segments(keys: Sequence[SortKey], after: Sequence[Any] | None) -> list[bool]:
    """The parts of the walk still ahead, in order: False = the first key's values, True = its NULLs."""
    if not keys[0].nullable:
        return [False]
    segments = [True, False] if keys[0].descending else [False, True]
    if after is not None:
        segments = segments[segments.index(after[0] is None) :]
    return segments


def _segment(
    stmt: Select,  # type: ignore[type-arg]
    keys: Sequence[SortKey],
    nulls: bool,
    after: Sequence[Any] | None,
) -> Select:  # type: ignore[type-arg]
    """The rows of one segment after `after` (None: from its start), in order."""
    first = keys[0]
    if nulls:
        stmt, keys, after = stmt.where(first.column.is_(None)), keys[1:], None if after is None else after[1:]
    elif first.nullable:
        stmt = stmt.where(first.column.is_not(None))
    if after is not None:
        stmt = stmt.where(after_key(keys, after))
    return stmt.order_by(*order_by(keys))


def _ends_with_rowid(keys: Sequence[SortKey]) -> bool:
    """The last key is its table's single-column integer primary key (SQLite: the rowid)."""
    column = keys[-1].column
    column = getattr(column, "expression", column)
    table = getattr(column, "table", None)
    primary = list(table.primary_key.columns) if table is not None and hasattr(table, "primary_key") else []
    return (
        len(primary) == 1
        and primary[0].name == getattr(column, "name", None)
        and isinstance(primary[0].type, Integer)
    )


def _after_ranges(keys: Sequence[SortKey], values: Sequence[Any]) -> list[ColumnElement[bool]]:
    """`after_key(keys, values)` as consecutive ranges in the walk's order, each an equality prefix and one
    strict bound: `a = :a AND id > :id`, then `a > :a`. SQLite range-scans a row value `(a, id) > (:a, :id)`
    on the first column only when `id` is the rowid, so a deep page walked every row of its `a` before the
    cursor (all the exceptions of a run open at one time: an age list's page cost grew with its depth)."""
    return _steps(keys, values)[::-1]


def _segment_queries(
    stmt: Select,  # type: ignore[type-arg]
    keys: Sequence[SortKey],
    nulls: bool,
    after: Sequence[Any] | None,
    split: bool,
) -> list[Select]:  # type: ignore[type-arg]
    """The queries of one segment after `after`, in order: one, or with `split` one per range of
    `_after_ranges` (each an index range scan of its own)."""
    rest_keys, rest_after = (keys[1:], None if after is None else after[1:]) if nulls else (keys, after)
    if rest_after is None or not split or len(rest_keys) < 2:
        return [_segment(stmt, keys, nulls, after)]
    start = _segment(stmt, keys, nulls, None)  # the segment's filter and order, from its start
    return [start.where(bound) for bound in _after_ranges(rest_keys, rest_after)]


def keyset_page(
    session: Session | Connection,
    stmt: Select,  # type: ignore[type-arg]
    keys: Sequence[SortKey],
    params: PageParams,
    *,
    scalars: bool = True,
    key_of: Callable[[Any], Sequence[Any]] | None = None,
    driver: bool = False,
) -> Page[Any]:
    """Run `stmt` for one page. Rows are ORM objects when `scalars` (default), else Row tuples, or with
    `driver` the driver's plain tuples (`recon.core.db.driver_rows`; `key_of` then reads them).

    `key_of(row)` returns the sort key of a row; by default read from attributes named like the key columns.
    A nullable first key is walked as two segments (its values, its NULLs), each an index range scan. On
    SQLite a key ending with the rowid is walked from a cursor as consecutive ranges (`_after_ranges`).
    Given the session's Connection instead of the Session, rows of columns skip the ORM's row loading (a
    list of Core rows: ~20% less CPU for 2000 rows).
    """
    after = None
    if params.cursor:
        after = decode_cursor(params.cursor, len(keys))
        _check_cursor_types(keys, after)
    bind = session if isinstance(session, Connection) else session.get_bind()
    split = bind.dialect.name == "sqlite" and _ends_with_rowid(keys)
    queries = (  # built lazily: most pages end in the first
        query
        for index, nulls in enumerate(_segments(keys, after))
        for query in _segment_queries(stmt, keys, nulls, after if index == 0 else None, split)
    )
    rows: list[Any] = []
    for query in queries:
        result = session.execute(query.limit(params.limit + 1 - len(rows)))
        if driver:
            rows.extend(driver_rows(result))
        else:
            rows.extend(result.scalars().all() if scalars else result.all())
        if len(rows) > params.limit:
            break
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        key = key_of(last) if key_of else [getattr(last, k.name) for k in keys]
        next_cursor = encode_cursor(key)
    return Page[Any].model_construct(items=rows, next_cursor=next_cursor)
