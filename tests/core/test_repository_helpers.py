"""The shared repository and pagination helpers: an Idempotency-Key replay, and the keyset bounds."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, or_, select

from recon.core.errors import IdempotencyKeyReused
from recon.core.pagination import SortKey, _after_ranges, after_key
from recon.core.repository import Repository
from recon.models import Export


class _Found(Repository[Export]):
    """A repository whose earlier row is given, recording the keys it was asked for."""

    def __init__(self, found: Any) -> None:
        self.found = found
        self.asked: list[tuple[str, str, str]] = []

    def by_idempotency_key(self, scope_id: str, user_id: str, key: str) -> Any:
        self.asked.append((scope_id, user_id, key))
        return self.found


def test_replayed_without_a_key_asks_nothing() -> None:
    rows = _Found(found=object())
    assert rows.replayed("p", "u", None, same=lambda _: True) is None
    assert rows.asked == []


def test_replayed_returns_the_earlier_row_of_the_same_request() -> None:
    earlier = object()
    rows = _Found(found=earlier)
    assert rows.replayed("p", "u", "k", same=lambda row: row is earlier) is earlier
    assert rows.asked == [("p", "u", "k")]
    assert _Found(found=None).replayed("p", "u", "k", same=lambda _: False) is None  # a new key


def test_replayed_refuses_another_request_with_the_same_key() -> None:
    with pytest.raises(IdempotencyKeyReused) as raised:
        _Found(found=object()).replayed("p", "u", "k", same=lambda _: False, what="file")
    assert raised.value.status == 422 and raised.value.slug == "idempotency-key-reused"
    assert raised.value.detail == "this Idempotency-Key was already used for a different file; use a new key"


@pytest.mark.parametrize("descending", [(False, True), (True, False), (False, False), (True,)])
def test_after_key_and_its_ranges_select_the_rows_after_a_cursor(
    descending: tuple[bool, ...],
) -> None:
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("a", String))
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine)
    rows = [(i, "xyz"[i % 3]) for i in range(1, 13)]
    columns = (table.c.a, table.c.id)[-len(descending) :]  # one key: the id alone
    keys = [SortKey(column, descending=down) for column, down in zip(columns, descending, strict=True)]

    def sort_key(row: tuple[int, str]) -> tuple[Any, ...]:
        values = dict(zip(("id", "a"), row, strict=True))
        return tuple(_flip(values[c.name], down) for c, down in zip(columns, descending, strict=True))

    ordered = sorted(rows, key=sort_key)
    with engine.begin() as connection:
        connection.execute(table.insert(), [{"id": i, "a": a} for i, a in rows])
        for at, cursor in enumerate(ordered):
            values = [dict(zip(("id", "a"), cursor, strict=True))[c.name] for c in columns]
            expected = {row[0] for row in ordered[at + 1 :]}
            for bound in (after_key(keys, values), or_(*_after_ranges(keys, values))):
                found = set(connection.scalars(select(table.c.id).where(bound)))
                assert found == expected, (cursor, descending)


def _flip(value: Any, descending: bool) -> Any:
    if not descending:
        return value
    return -value if isinstance(value, int) else tuple(-ord(ch) for ch in value)
