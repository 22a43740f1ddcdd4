"""Money of the results lists is rendered from what the database returns (SQLite: the sortable text) without
the Decimal round trip: the same text as `render_amount(from_sortable_text(...))` for every value."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from recon.core.money import (
    from_sortable_text,
    render_amount,
    render_stored_amount,
    sortable_text,
    stored_money,
)

CURRENCIES = (None, "EUR", "JPY", "BHD", "CLF", "xyz")


def _values(seed: int, count: int) -> list[Decimal]:
    rng = random.Random(seed)
    values = [Decimal(v) for v in ("0", "-0", "0E-10", "1", "-1", "0.0000000001", "-0.0000000001")]
    values += [Decimal("9" * 28 + "." + "9" * 10), -Decimal("9" * 28 + "." + "9" * 10), Decimal("-1E+27")]
    for _ in range(count):
        kind = rng.random()
        if kind < 0.4:
            value = Decimal(rng.randint(-(10**12), 10**12)).scaleb(-rng.randint(0, 10))
        elif kind < 0.7:
            value = Decimal(rng.randint(-999, 999)).scaleb(-rng.randint(0, 10))
        else:
            value = Decimal(rng.randint(-(10**38) + 1, 10**38 - 1)).scaleb(-10)
        values.append(value)
    return values


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rendered_from_the_sortable_text_as_from_the_decimal(seed: int) -> None:
    for value in _values(seed, 20_000):
        text = sortable_text(value)
        for currency in CURRENCIES:
            expected = render_amount(from_sortable_text(text), currency)
            assert render_stored_amount(text, currency) == expected, (value, text, currency)
            assert render_stored_amount(from_sortable_text(text), currency) == expected  # PostgreSQL


def test_other_stored_forms_render_through_the_decimal() -> None:
    assert render_stored_amount("12.5", "EUR") == "12.50"  # plain text written around the Money type
    assert render_stored_amount(7, "JPY") == "7"
    assert stored_money("P0000000000000000000000000001.5000000000") == Decimal("1.5")
    with pytest.raises(ValueError):  # not digits: refused as before, not rendered
        render_stored_amount("P000000000000000000000000000x.5000000000", "EUR")
    with pytest.raises(TypeError, match="not a stored money value"):
        stored_money(b"12")
