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
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

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


def page_params(
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
    """One column of the sort key; `attr` is the attribute name to read it back from a row object."""

    column: Any  # an ORM attribute or column expression
    descending: bool = False
    attr: str | None = None

    @property
    def name(self) -> str:
        return self.attr or self.column.key


def after_key(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order of `keys` (mixed directions allowed; NULLs not supported)."""
    clauses = []
    for i, key in enumerate(keys):
        equal_prefix = [keys[j].column == values[j] for j in range(i)]
        step = key.column < values[i] if key.descending else key.column > values[i]
        clauses.append(and_(*equal_prefix, step))
    return or_(*clauses)


def order_by(keys: Sequence[SortKey]) -> list[Any]:
    return [k.column.desc() if k.descending else k.column.asc() for k in keys]


def _check_cursor_types(keys: Sequence[SortKey], values: Sequence[Any]) -> None:
    """A forged cursor (null, or a value of another type than its key column) is a 422, not a SQL error."""
    for key, value in zip(keys, values, strict=True):
        column_type = getattr(key.column, "type", None)
        column_type = getattr(column_type, "impl_instance", column_type)  # TypeDecorator: its impl's type
        try:
            expected = column_type.python_type if column_type is not None else object
        except NotImplementedError:
            expected = object
        out_of_range = isinstance(value, int) and not -(2**63) <= value < 2**63
        naive = isinstance(value, dt.datetime) and value.tzinfo is None
        wrong_type = not isinstance(value, expected) or isinstance(value, bool)
        if value is None or wrong_type or out_of_range or naive:
            raise Unprocessable(
                "the cursor is not valid for this list",
                errors=[FieldError(field="query.cursor", message=f"unexpected value for {key.name}")],
            )


def keyset_page(
    session: Session,
    stmt: Select,  # type: ignore[type-arg]
    keys: Sequence[SortKey],
    params: PageParams,
    *,
    scalars: bool = True,
    key_of: Callable[[Any], Sequence[Any]] | None = None,
) -> Page[Any]:
    """Run `stmt` for one page. Rows are ORM objects when `scalars` (default), else Row tuples.

    `key_of(row)` returns the sort key of a row; by default read from attributes named like the key columns.
    """
    if params.cursor:
        values = decode_cursor(params.cursor, len(keys))
        _check_cursor_types(keys, values)
        stmt = stmt.where(after_key(keys, values))
    stmt = stmt.order_by(*order_by(keys)).limit(params.limit + 1)
    result = session.execute(stmt)
    rows: list[Any] = list(result.scalars().all() if scalars else result.all())
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        key = key_of(last) if key_of else [getattr(last, k.name) for k in keys]
        next_cursor = encode_cursor(key)
    return Page[Any](items=rows, next_cursor=next_cursor)
