"""Domain-free kit: keyset pagination, cursors, Money/UTCDateTime columns, money helpers (both backends)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import pairwise

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from recon.core.errors import Unprocessable
from recon.core.money import money_str, parse_money, quantize
from recon.core.pagination import PageParams, SortKey, decode_cursor, encode_cursor, keyset_page
from recon.models.types import Money, UTCDateTime

metadata = MetaData()
items = Table(
    "kit_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("amount", Money()),
    Column("at", UTCDateTime()),
    Column("label", String(10)),
)
T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def kit_engine(db_engine: Engine) -> Engine:
    metadata.create_all(db_engine)
    with db_engine.begin() as conn:
        conn.execute(
            insert(items),
            [
                {
                    "id": i,
                    "amount": Decimal(i % 5) + Decimal("0.01"),
                    "at": T0 + dt.timedelta(microseconds=i % 3),
                    "label": f"x{i}",
                }
                for i in range(1, 38)
            ],
        )
    yield db_engine
    metadata.drop_all(db_engine)


@pytest.mark.parametrize(
    "keys",
    [
        [("amount", False), ("id", False)],
        [("amount", True), ("id", False)],
        [("at", True), ("amount", False), ("id", True)],
    ],
)
def test_keyset_walk_visits_every_row_once_in_order(kit_engine: Engine, keys: list[tuple[str, bool]]) -> None:
    sort = [SortKey(items.c[name], descending=desc, attr=name) for name, desc in keys]
    seen: list[tuple[object, ...]] = []
    cursor = None
    with Session(kit_engine) as session:
        while True:
            page = keyset_page(
                session, select(items), sort, PageParams(limit=4, cursor=cursor), scalars=False
            )
            seen.extend(tuple(getattr(row, name) for name, _ in keys) for row in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
    assert len(seen) == 37 == len(set(seen))

    def order(row: tuple[object, ...]) -> tuple[object, ...]:
        return tuple(
            (-v if desc else v)
            if not isinstance(v, dt.datetime)
            else (-v.timestamp() if desc else v.timestamp())
            for v, (_, desc) in zip(row, keys, strict=True)
        )

    assert all(order(a) <= order(b) for a, b in pairwise(seen))


@pytest.mark.parametrize("descending", [False, True])
def test_keyset_walk_with_a_nullable_first_key(kit_engine: Engine, descending: bool) -> None:
    """NULLs of the first key come after its values ascending and before them descending (the exact reverse),
    on both databases, and a cursor inside the NULLs goes on from there."""
    with kit_engine.begin() as conn:
        conn.execute(insert(items), [{"id": 50 + i, "amount": None, "at": T0} for i in range(7)])
    keys = [
        SortKey(items.c.amount, descending=descending, nullable=True),
        SortKey(items.c.id, descending=descending),
    ]
    seen: list[tuple[Decimal | None, int]] = []
    cursor = None
    with Session(kit_engine) as session:
        while True:
            page = keyset_page(
                session, select(items), keys, PageParams(limit=3, cursor=cursor), scalars=False
            )
            seen.extend((row.amount, row.id) for row in page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    valued = sorted((r for r in seen if r[0] is not None), key=lambda r: (r[0], r[1]), reverse=descending)
    nulls = sorted((r for r in seen if r[0] is None), key=lambda r: r[1], reverse=descending)
    assert len(seen) == 37 + 7 == len(set(seen))
    assert seen == (nulls + valued if descending else valued + nulls)


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("descending", [False, True])
def test_keyset_page_after_a_cursor_on_sqlite_is_range_scans_ending_in_the_rowid(
    kit_engine: Engine, descending: bool
) -> None:
    """SQLite range-scans `(amount, id) > (:a, :id)` on amount only when id is the rowid: every row of the
    cursor's amount before it was walked. The page is read as `amount = :a AND id > :id`, then
    `amount > :a`, each an index range scan (same rows, in order)."""
    with kit_engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_kit_items_amount_id ON kit_items (amount, id)")
    keys = [SortKey(items.c.amount, descending=descending), SortKey(items.c.id, descending=descending)]
    statements: list[tuple[str, object]] = []

    def capture(conn: object, cursor: object, statement: str, parameters: object, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    with Session(kit_engine) as session:
        first = keyset_page(session, select(items), keys, PageParams(limit=3), scalars=False)
        event.listen(kit_engine, "before_cursor_execute", capture)
        try:
            page = keyset_page(
                session, select(items), keys, PageParams(limit=10, cursor=first.next_cursor), scalars=False
            )
        finally:
            event.remove(kit_engine, "before_cursor_execute", capture)
        bound = "<" if descending else ">"
        plans = [
            " ".join(
                str(row[-1])
                for row in session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", args)
            )
            for sql, args in statements
        ]
    assert len(plans) == 2, plans
    assert f"amount=? AND id{bound}?" in plans[0] and f"amount{bound}?" in plans[1], plans
    assert all("TEMP B-TREE" not in plan for plan in plans), plans
    ordered = sorted(((Decimal(i % 5) + Decimal("0.01"), i) for i in range(1, 38)), reverse=descending)
    assert [(row.amount, row.id) for row in first.items + page.items] == ordered[:13]


def test_keyset_refuses_a_null_cursor_value_of_a_key_that_is_not_nullable(kit_engine: Engine) -> None:
    keys = [SortKey(items.c.amount), SortKey(items.c.id)]
    with Session(kit_engine) as session, pytest.raises(Unprocessable):
        keyset_page(session, select(items), keys, PageParams(cursor=encode_cursor([None, 3])), scalars=False)


def test_money_and_utc_round_trip(kit_engine: Engine) -> None:
    with kit_engine.begin() as conn:
        conn.execute(insert(items), [{"id": 100, "amount": Decimal("12345678901.23"), "at": T0}])
        conn.execute(insert(items), [{"id": 101, "amount": Decimal("-0.10"), "at": T0}])
    with kit_engine.connect() as conn:
        amount, at = conn.execute(select(items.c.amount, items.c.at).where(items.c.id == 100)).one()
        total = conn.execute(select(items.c.amount).where(items.c.amount > Decimal("1000"))).scalars().all()
    assert amount == Decimal("12345678901.23")
    assert isinstance(amount, Decimal)
    assert at == T0 and at.tzinfo is not None
    assert total == [Decimal("12345678901.23")]


def test_money_refuses_float_and_naive_datetimes(kit_engine: Engine) -> None:
    with pytest.raises(Exception, match="float"), kit_engine.begin() as conn:
        conn.execute(insert(items), [{"id": 200, "amount": 1.5}])
    with pytest.raises(Exception, match="naive"), kit_engine.begin() as conn:
        conn.execute(insert(items), [{"id": 201, "at": dt.datetime(2024, 1, 1)}])


def test_cursor_round_trip_and_rejection() -> None:
    key = [T0, Decimal("1.10"), dt.date(2024, 1, 2), "abc", 7, None]
    assert decode_cursor(encode_cursor(key), len(key)) == key
    for bad in ["", "%%%", encode_cursor([1]), "eyJhIjoxfQ"]:
        with pytest.raises(Unprocessable):
            decode_cursor(bad, 2)


def test_money_helpers() -> None:
    assert parse_money("1,234.50") == Decimal("1234.50")
    assert parse_money("(12.00)") == Decimal("-12.00")
    assert parse_money(" +3.5 ") == Decimal("3.5")
    assert quantize(Decimal("2.345")) == Decimal("2.34")  # banker's rounding
    assert quantize(Decimal("2.355")) == Decimal("2.36")
    assert money_str(Decimal("1E+2")) == "100"
    with pytest.raises(TypeError):
        parse_money(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not an amount"):
        parse_money("12abc")
    with pytest.raises(ValueError, match="finite"):
        parse_money("NaN")
