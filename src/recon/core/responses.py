"""Responses and records filled from a row: each field read from the row's attribute of the same name, the
renamed and computed ones given beside it, so a mapping names only what differs."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

S = TypeVar("S", bound=BaseModel)


def attributes(row: object, *names: str) -> dict[str, Any]:
    """`{name: row.name}` for each name, in the order given (audit data keeps its key order)."""
    return {name: getattr(row, name) for name in names}


def response_of(schema: type[S], row: object, /, **given: Any) -> S:
    """`schema` with the fields in `given` as given (`signed_off_at=statement.created_at`, computed values)
    and every other field read from `row` (AttributeError when the row has no such attribute). The first two
    are positional-only, so a schema may have a field named `row` or `schema`."""
    names = [name for name in schema.model_fields if name not in given]
    return schema.model_validate({**attributes(row, *names), **given})
