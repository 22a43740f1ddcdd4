from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.ingest.decimals import parse_decimal_text


def parse(values: list[str | None], decimal: str = ".", thousands: str | None = None) -> tuple[list, list]:
    parsed = parse_decimal_text(pa.array(values, pa.string()), decimal, thousands)
    failed = [v for f in parsed.failures for v, bad in zip(values, f.mask.to_pylist(), strict=True) if bad]
    return parsed.values.to_pylist(), failed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.50", "12.50"),
        ("  -3 ", "-3"),
        ("(12.50)", "-12.50"),
        ("12.50-", "-12.50"),
        ("+4", "4"),
        ("$1 234.56", "1234.56"),
        ("€(0.99)", "-0.99"),
        ("EUR 5", "5"),
        ("5.10 USD", "5.10"),
        ("( 3.00 )", "-3.00"),
        ("£-7", "-7"),
        (".5", "0.5"),
        ("12.", "12"),
        ("1\u00a0234.5", "1234.5"),
        ("0007.10", "7.10"),
    ],
)
def test_accepted_forms(text: str, expected: str) -> None:
    values, failed = parse([text])
    assert failed == []
    assert values[0] == Decimal(expected)


@pytest.mark.parametrize(
    "text", ["x1", "1e5", "(3", "-(3)", "+4-", "--4", "1.2.3", "1,234.50", "12,5", "-", "()"]
)
def test_rejected_forms(text: str) -> None:
    values, failed = parse([text])
    assert values == [None]
    assert failed == [text]


def test_empty_cells_are_null_not_errors() -> None:
    values, failed = parse(["", "   ", None, "1"])
    assert values == [None, None, None, Decimal("1")]
    assert failed == []


def test_scale_is_the_largest_seen() -> None:
    parsed = parse_decimal_text(pa.array(["1", "2.5", "3.125"]))
    assert parsed.values.type == pa.decimal128(38, 3)
    assert parsed.values.to_pylist() == [Decimal("1.000"), Decimal("2.500"), Decimal("3.125")]
    assert parse_decimal_text(pa.array(["1", "-2"])).values.type == pa.decimal128(38, 0)


def test_european_and_swiss_separators() -> None:
    assert parse(["1.234.567,89", "-0,5", "12,5", "(1.000)"], ",", ".") == (
        [Decimal("1234567.89"), Decimal("-0.50"), Decimal("12.50"), Decimal("-1000.00")],
        [],
    )
    assert parse(["1.23"], ",", ".") == ([None], ["1.23"])  # not a valid thousands group
    assert parse(["1'234.50", "12'000"], ".", "'") == ([Decimal("1234.50"), Decimal("12000.00")], [])
    assert parse(["1 234,5"], ",", " ") == ([Decimal("1234.5")], [])


def test_too_many_digits_is_a_cell_error() -> None:
    parsed = parse_decimal_text(pa.array(["1" * 37 + ".5", "0.12"]))
    assert parsed.values.type == pa.decimal128(38, 2)
    assert parsed.values.to_pylist() == [None, Decimal("0.12")]
    assert [f.reason for f in parsed.failures] == ["has more digits than decimal(38, 2) can hold"]


def test_failure_reason_names_the_separators() -> None:
    parsed = parse_decimal_text(pa.array(["1,5"]), ".", None)
    assert [f.reason for f in parsed.failures] == ["is not a decimal (decimal '.', no thousands separator)"]


def _group(digits: str, separator: str) -> str:
    head = len(digits) % 3 or 3
    return separator.join([digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)])


@st.composite
def rendered(draw: st.DrawFn) -> tuple[list[Decimal], list[str], str, str | None]:
    places = draw(st.integers(0, 4))
    decimal, thousands = draw(st.sampled_from([(".", None), (".", ","), (",", "."), (",", " "), (".", "'")]))
    numbers = draw(st.lists(st.integers(-(10**14), 10**14), min_size=1, max_size=20))
    values = [Decimal(n).scaleb(-places) for n in numbers]
    texts = []
    for value in values:
        whole, _, frac = f"{abs(value):.{places}f}".partition(".")
        if thousands and draw(st.booleans()):
            whole = _group(whole, thousands)
        body = whole + (decimal + frac if frac else "")
        if value < 0:
            body = draw(st.sampled_from(["-{}", "{}-", "({})", "- {}"])).format(body)
        texts.append(draw(st.sampled_from(["{}", " {} ", "${}", "{} EUR", "€ {}"])).format(body))
    return values, texts, decimal, thousands


@settings(max_examples=200, deadline=None)
@given(rendered())
def test_round_trip_of_rendered_amounts(case: tuple[list[Decimal], list[str], str, str | None]) -> None:
    values, texts, decimal, thousands = case
    parsed, failed = parse(texts, decimal, thousands)
    assert failed == []
    assert parsed == values
