"""recon.core.money: exact sortable text (Python and vectorised forms agree, order preserved, round trip),
the exact SQLite aggregate, and rendering with the currency's minor units."""

from __future__ import annotations

import sqlite3
from decimal import Context, Decimal, localcontext

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.core.money import (
    MoneySum,
    from_sortable_text,
    register_sqlite_money,
    render_amount,
    sortable_text,
)
from recon.core.money_arrow import from_sortable_text as arrow_decode
from recon.core.money_arrow import to_sortable_text as arrow_encode

# NUMERIC(38, 10): |value| < 10**28, 10 decimal places.
stored = st.decimals(
    min_value=Decimal("-9999999999999999999999999999.9999999999"),
    max_value=Decimal("9999999999999999999999999999.9999999999"),
    places=10,
    allow_nan=False,
    allow_infinity=False,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(stored, min_size=1, max_size=30))
def test_sortable_text_round_trips_orders_and_agrees_with_arrow(values: list[Decimal]) -> None:
    texts = [sortable_text(v) for v in values]
    assert [from_sortable_text(t) for t in texts] == values
    assert sorted(texts) == [sortable_text(v) for v in sorted(values)]  # byte order = numeric order
    array = pa.array(values, pa.decimal128(38, 10))
    assert arrow_encode(array).to_pylist() == texts
    assert arrow_decode(pa.array(texts)).to_pylist() == values


# Amounts whose count of 10**-10 fits an int64 (the encoder's fast path), at the scales files have.
INT64_UNITS = 2**63 - 1


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([0, 2, 3, 10]),
    st.lists(st.one_of(st.none(), st.integers(-INT64_UNITS, INT64_UNITS)), min_size=1, max_size=40),
    st.integers(0, 5),
)
def test_the_int64_fast_path_agrees_with_the_exact_text(
    scale: int, units: list[int | None], skip: int
) -> None:
    step = 10 ** (10 - scale)
    values = [None if u is None else Decimal(u // step).scaleb(-scale) for u in units]
    array = pa.array(values, pa.decimal128(38, scale)).slice(min(skip, len(values) - 1))  # offsets too
    expected = [None if v is None else sortable_text(v) for v in array.to_pylist()]
    assert arrow_encode(array).to_pylist() == expected
    assert arrow_encode(pa.array([Decimal(-(2**63)).scaleb(-10)], pa.decimal128(38, 10))).to_pylist() == [
        sortable_text(Decimal(-(2**63)).scaleb(-10))  # beyond the fast path: the exact one
    ]


def test_small_values_and_zero_have_no_exponent() -> None:
    for value in ("0", "0.0000000001", "-0.0000000001", "-0"):
        text = arrow_encode(pa.array([Decimal(value)], pa.decimal128(38, 10))).to_pylist()[0]
        assert text == sortable_text(Decimal(value)) and "E" not in text
    assert sortable_text(Decimal("-0")) == sortable_text(Decimal("0"))
    with pytest.raises(ValueError):
        sortable_text(Decimal("1E28"))


@settings(max_examples=100, deadline=None)
@given(st.lists(stored, max_size=40))
def test_the_sqlite_aggregate_is_exact(values: list[Decimal]) -> None:
    with localcontext(Context(prec=60)):
        expected = sum(values, Decimal(0))
    if abs(expected) >= Decimal(10) ** 28:
        return  # beyond NUMERIC(38, 10) (the aggregate refuses it); not a storable total
    connection = sqlite3.connect(":memory:")
    register_sqlite_money(connection)
    connection.execute("CREATE TABLE t (amount NUMERIC(38, 10))")
    connection.executemany("INSERT INTO t VALUES (?)", [(sortable_text(v),) for v in values] + [(None,)])
    (total,) = connection.execute("SELECT recon_money_sum(amount) FROM t").fetchone()
    assert (None if not values else from_sortable_text(total)) == (expected if values else None)
    (ordered,) = connection.execute(
        "SELECT count(*) FROM t WHERE amount >= ?", (sortable_text(Decimal(0)),)
    ).fetchone()
    assert ordered == sum(1 for v in values if v >= 0)
    connection.close()


def test_aggregate_of_nothing_is_null_like_sum() -> None:
    aggregate = MoneySum()
    assert aggregate.finalize() is None
    aggregate.step(None)
    assert aggregate.finalize() is None


@pytest.mark.parametrize(
    ("value", "currency", "text"),
    [
        ("2.5", "EUR", "2.50"),
        ("0E-10", "EUR", "0.00"),
        ("-0", None, "0.00"),
        ("1500", "JPY", "1500"),
        ("1500.0000000000", "jpy", "1500"),
        ("1.5", "BHD", "1.500"),
        ("0.125", "EUR", "0.125"),  # never rounded
        ("12.5000000000", "XYZ", "12.50"),
        ("12345678901234567.89", "EUR", "12345678901234567.89"),
        ("1E+2", "USD", "100.00"),
    ],
)
def test_render_amount_uses_the_minor_units(value: str, currency: str | None, text: str) -> None:
    assert render_amount(Decimal(value), currency) == text
