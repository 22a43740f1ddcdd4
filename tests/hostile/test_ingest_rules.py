"""Rules that validated but did not compile: every numeric parameter of the rules language is range-checked
at validation (a value out of range is a RulesError naming its place), and the extreme values that validate
also compile and run in the engine (no DuckDB binder or overflow error surfaces)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from recon.engine import RulesError, parse_rules, reconcile

ONE = "- {name: p, kind: one_to_one, match: ["
HEAD = "version: 1\nname: t\nleft: {id: id}\nright: {id: id}\npasses:\n"
BAD = [
    (
        ONE + "{left: date, right: date, op: within_days, days: 2147483648}]}",
        "passes[0].match[0].days: must be at most 36,500",
    ),
    (
        ONE + "{left: amount, right: amount, op: tolerance, abs: 1e400}]}",
        "passes[0].match[0].abs: must be at most",
    ),
    (
        ONE + "{left: amount, right: amount, op: tolerance, pct: 1e400}]}",
        "passes[0].match[0].pct: must be below 100",
    ),
    (
        ONE + "{left: amount, right: amount, op: tolerance, abs: .nan}]}",
        "passes[0].match[0].abs: expected a number",
    ),
    (
        ONE + "{left: date, right: date, op: within_business_days, days: -1}]}",
        "passes[0].match[0].days: must be at least 0",
    ),
    (
        ONE + "{left: t, right: t, op: similarity, method: jaro_winkler, min: 1e-30}]}",
        "passes[0].match[0].min: at most 10 decimal places",
    ),
    (
        "- {name: p, kind: one_to_one, min_score: 2, match: [{left: id, right: id, op: equals}]}",
        "passes[0].min_score: must be between 0 and 1",
    ),
    (
        "- {name: p, kind: one_to_many, group_by: [date], max_group_size: 99999999999,"
        " sum: {left: amount, right: amount, abs: 0.01}, match: [{left: date, right: date, op: equals}]}",
        "passes[0].max_group_size: must be at most",
    ),
    (
        ONE + "{left: id, right: id, op: equals}],"
        " score: [{left: t, right: t, method: jaro_winkler, weight: 1e400}]}",
        "passes[0].score[0].weight",
    ),
]


@pytest.mark.parametrize(("passes", "message"), BAD)
def test_out_of_range_values_are_refused_at_validation(passes: str, message: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(HEAD + passes, source="rules.yaml")
    assert message in str(caught.value)


def _side(ids: list[str], amounts: list[str], dates: list[str]) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(ids),
            "amount": pa.array([Decimal(a) for a in amounts], pa.decimal128(38, 2)),
            "date": pa.array([dt.date.fromisoformat(d) for d in dates], pa.date32()),
            "t": pa.array(["ACME Ltd"] * len(ids)),
        }
    )


EXTREMES = [
    ONE + "{left: date, right: date, op: within_days, days: 36500}]}",
    ONE + "{left: date, right: date, op: within_business_days, days: 36500}]}",
    ONE + "{left: amount, right: amount, op: tolerance, abs: 1000000000000000}]}",
    ONE + "{left: amount, right: amount, op: tolerance, pct: 99.9999999999}]}",
    ONE + "{left: amount, right: amount, op: tolerance, abs: 0.0000000001}]}",
    "- {name: p, kind: one_to_one, min_score: 0.0000000001, match: [{left: t, right: t, op: similarity,"
    " method: jaro_winkler, min: 1}], score: [{left: t, right: t, method: jaro_winkler, weight: 1000000}]}",
    "- {name: p, kind: one_to_many, group_by: [date], max_group_size: 100000,"
    " sum: {left: amount, right: amount, abs: 1000000000000000},"
    " match: [{left: date, right: date, op: equals}]}",
]


@pytest.mark.parametrize("passes", EXTREMES)
def test_extreme_values_that_validate_also_compile_and_run(passes: str) -> None:
    rules = parse_rules(HEAD + passes, source="rules.yaml")
    left = _side(["L1", "L2"], ["10.00", "-99999999999999.99"], ["1970-01-01", "2024-03-01"])
    right = _side(["R1", "R2"], ["10.00", "99999999999999.99"], ["2069-12-31", "2024-03-01"])
    result = reconcile(left, right, rules, threads=1)
    # every record lands exactly once, matched or not
    matched = result.matches.to_pylist()
    left_ids = sorted(
        [m["id"] for m in matched if m["side"] == "left"] + result.unmatched_left["id"].to_pylist()
    )
    right_ids = sorted(
        [m["id"] for m in matched if m["side"] == "right"] + result.unmatched_right["id"].to_pylist()
    )
    assert (left_ids, right_ids) == (["L1", "L2"], ["R1", "R2"])
