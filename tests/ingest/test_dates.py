from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.ingest.dates import ISO_DATETIME, candidates, parse_date_text, twin


def parse(values: list[str | None], formats: tuple[str, ...] = ("auto",), dayfirst: bool = True):
    parsed = parse_date_text(pa.array(values, pa.string()), formats, dayfirst)
    failed = [v for f in parsed.failures for v, bad in zip(values, f.mask.to_pylist(), strict=True) if bad]
    return parsed.values.to_pylist(), failed, parsed.note


D = dt.date


@pytest.mark.parametrize(
    ("values", "note", "expected"),
    [
        (["2024-01-05", " 2024-12-31 "], "%Y-%m-%d", [D(2024, 1, 5), D(2024, 12, 31)]),
        (["31/01/2024", "01/02/2024"], "%d/%m/%Y", [D(2024, 1, 31), D(2024, 2, 1)]),
        (["01/31/2024", "02/01/2024"], "%m/%d/%Y", [D(2024, 1, 31), D(2024, 2, 1)]),
        (["1.3.2024", "15.12.2023"], "%d.%m.%Y", [D(2024, 3, 1), D(2023, 12, 15)]),
        (["05/01/24", "31/12/99"], "%d/%m/%y", [D(2024, 1, 5), D(1999, 12, 31)]),
        (["5 Jan 2024", "17 FEB 2024"], "%d %b %Y", [D(2024, 1, 5), D(2024, 2, 17)]),
        (["Jan 5, 2024"], "%b %d, %Y", [D(2024, 1, 5)]),
        (["20240105"], "%Y%m%d", [D(2024, 1, 5)]),
        (
            ["2024-01-05T23:30:00Z", "2024-01-06 10:00:00.123+02:00"],
            ISO_DATETIME,
            [D(2024, 1, 5), D(2024, 1, 6)],
        ),
        (["13/01/2024 10:30:00"], "%d/%m/%Y %H:%M:%S", [D(2024, 1, 13)]),
    ],
)
def test_auto_detection(values: list[str], note: str, expected: list[dt.date]) -> None:
    assert parse(values) == (expected, [], note)


def test_ambiguity_follows_dayfirst_and_is_recorded() -> None:
    values, failed, note = parse(["01/02/2024", "03/04/2024"])
    assert (values, failed) == ([D(2024, 2, 1), D(2024, 4, 3)], [])
    assert note == "%d/%m/%Y (also fits %m/%d/%Y; chose day-first as dayfirst=True)"
    values, failed, note = parse(["01/02/2024", "03/04/2024"], dayfirst=False)
    assert (values, failed) == ([D(2024, 1, 2), D(2024, 3, 4)], [])
    assert note == "%m/%d/%Y (also fits %d/%m/%Y; chose month-first as dayfirst=False)"


def test_impossible_dates_are_rejected_not_rolled_over() -> None:
    assert parse(["2024-02-29", "2024-02-30", "2023-02-29"]) == (
        [D(2024, 2, 29), None, None],
        ["2024-02-30", "2023-02-29"],
        "%Y-%m-%d",
    )
    values, failed, _ = parse(["31.04.2024", "30.04.2024"], ("%d.%m.%Y",))
    assert (values, failed) == ([None, D(2024, 4, 30)], ["31.04.2024"])


def test_two_digit_year_is_not_taken_for_a_four_digit_one() -> None:
    values, failed, _ = parse(["05/01/24"], ("%d/%m/%Y",))
    assert (values, failed) == ([None], ["05/01/24"])


def test_explicit_formats_are_tried_in_order_per_cell() -> None:
    values, failed, note = parse(["2024-01-05", "06.01.2024", "junk", ""], ("%Y-%m-%d", "%d.%m.%Y"))
    assert (values, failed, note) == ([D(2024, 1, 5), D(2024, 1, 6), None, None], ["junk"], None)


def test_no_known_format() -> None:
    parsed = parse_date_text(pa.array(["soon", None]), ("auto",))
    assert parsed.values.to_pylist() == [None, None]
    assert [f.reason for f in parsed.failures] == ["is not a date in any known format (set read.date_format)"]


def test_twins_only_for_numeric_day_month_formats() -> None:
    assert twin("%d/%m/%Y") == "%m/%d/%Y"
    assert twin("%m-%d-%y") == "%d-%m-%y"
    assert twin("%Y-%m-%d") is None
    assert candidates(True).index("%d/%m/%Y") < candidates(True).index("%m/%d/%Y")
    assert candidates(False).index("%m/%d/%Y") < candidates(False).index("%d/%m/%Y")


FORMATS = [("%Y-%m-%d", True), ("%d/%m/%Y", True), ("%m/%d/%Y", False), ("%d.%m.%Y", True), ("%Y%m%d", True),
           ("%d %b %Y", True), ("%b %d, %Y", True), ("%d-%m-%y", True)]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(FORMATS),
    st.lists(st.dates(min_value=D(1970, 1, 1), max_value=D(2068, 12, 31)), min_size=1, max_size=30),
)
def test_round_trip_of_rendered_dates(fmt_dayfirst: tuple[str, bool], dates: list[dt.date]) -> None:
    fmt, dayfirst = fmt_dayfirst
    values, failed, _ = parse([d.strftime(fmt) for d in dates], dayfirst=dayfirst)
    assert failed == []
    assert values == dates
