"""within_business_days: weekends skipped, holidays from a country's calendar, validated calendars."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from recon.engine import RulesError, reconcile
from recon.engine.calendar import business_day_numbers

from .helpers import groups_of, rules_for, side


def _numbers(days: list[str], calendar: str | None = None) -> list[int | None]:
    values = pa.array([dt.date.fromisoformat(d) for d in days], pa.date32())
    return business_day_numbers(values, calendar).to_pylist()


def test_weekends_count_as_the_next_business_day():
    fri, sat, sun, mon, tue = _numbers(["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04", "2024-03-05"])
    assert sat == sun == mon == fri + 1
    assert tue == fri + 2


def test_holidays_of_the_calendar_are_skipped():
    # 2024-12-25 and -26 are public holidays in Germany, not in the US (only the 25th)
    mon, fri = _numbers(["2024-12-23", "2024-12-27"], "DE")
    assert fri - mon == 2
    mon, fri = _numbers(["2024-12-23", "2024-12-27"], "US")
    assert fri - mon == 3
    mon, fri = _numbers(["2024-12-23", "2024-12-27"])
    assert fri - mon == 4


def _rules(days: int, calendar: str = "") -> object:
    extra = f", calendar: {calendar}" if calendar else ""
    return rules_for(
        f"""\
  - name: bdays
    kind: one_to_one
    match:
      - {{left: amount, right: amount, op: equals}}
      - {{left: date, right: date, op: within_business_days, days: {days}{extra}}}
"""
    )


def test_friday_to_monday_is_one_business_day():
    left = side(["L1", "L2"], ["10.00", "20.00"], ["2024-03-01", "2024-03-01"])
    right = side(["R1", "R2"], ["10.00", "20.00"], ["2024-03-04", "2024-03-06"])
    assert groups_of(reconcile(left, right, _rules(1))) == [("bdays", "matched", ("L1",), ("R1",))]


def test_calendar_widens_the_window_over_holidays():
    left = side(["L1"], ["10.00"], ["2024-12-23"])
    right = side(["R1"], ["10.00"], ["2024-12-27"])
    assert groups_of(reconcile(left, right, _rules(2))) == []
    assert groups_of(reconcile(left, right, _rules(2, "DE"))) == [("bdays", "matched", ("L1",), ("R1",))]


def test_unknown_calendar_is_an_error_with_a_suggestion():
    with pytest.raises(RulesError) as info:
        _rules(2, "XX")
    assert "unknown country 'XX'" in str(info.value)
    with pytest.raises(RulesError) as info:
        _rules(2, "DE-ZZ")
    assert "unknown subdivision 'ZZ' of DE" in str(info.value)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("{left: date, right: date, op: within_days, days: 2147483648}", "must be at most 36,500"),
        ("{left: amount, right: amount, op: tolerance, abs: 1e400}", "must be at most"),
        ("{left: amount, right: amount, op: tolerance, pct: 1e-40}", "decimal places"),
    ],
)
def test_values_that_cannot_compile_are_refused(item: str, message: str):
    with pytest.raises(RulesError) as info:
        rules_for(f"  - name: p\n    kind: one_to_one\n    match:\n      - {item}\n")
    assert message in str(info.value)
