"""Grouped kinds on Spark: the engine's grouped tests (their expected groups, statuses, reasons and
explanation texts), each run on the Spark backend, and every grouped kind compared with DuckDB."""

from __future__ import annotations

import inspect

import pytest

import engine.test_grouped as grouped
from engine.helpers import rules_for, side
from recon.engine import reconcile

from .outcomes import outcome, texts

pytestmark = pytest.mark.spark
CASES = sorted(
    name
    for name, function in vars(grouped).items()
    if name.startswith("test_")
    and inspect.isfunction(function)
    and not hasattr(function, "hypothesis")
    and "reconcile(" in inspect.getsource(function)
)


@pytest.mark.parametrize("case", CASES)
def test_the_engines_grouped_tests_pass_on_spark(spark, monkeypatch, case):
    from recon.engine.spark import SparkBackend

    calls = []

    def on_spark(left, right, rules, **options):
        calls.append(rules)
        return reconcile(left, right, rules, **options, backend=SparkBackend(spark))

    monkeypatch.setattr(grouped, "reconcile", on_spark)
    case_test = getattr(grouped, case)
    # a case may take pytest's monkeypatch (e.g. to shrink a chunk size): it gets this test's
    wanted = inspect.signature(case_test).parameters
    case_test(**({"monkeypatch": monkeypatch} if "monkeypatch" in wanted else {}))
    assert calls  # the case ran its reconcile on Spark


def test_the_grouped_cases_are_found():
    assert len(CASES) >= 7, CASES


LEFT = side(
    ["L1", "L2", "L3", "L4", "L5", "L6", "L7"],
    ["10.00", "20.00", "5.00", "2.50", "2.50", "7.00", "3.00"],
    ["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-03", "2024-01-03", "2024-01-05", "2024-01-05"],
    ref=["A", "A", "B", "C", "C", None, "D"],
)
RIGHT = side(
    ["R1", "R2", "R3", "R4", "R5", "R6"],
    ["30.00", "5.00", "4.00", "1.00", "7.00", "3.00"],
    ["2024-01-02", "2024-01-02", "2024-01-03", "2024-01-03", "2024-01-05", "2024-01-06"],
    ref=["A", "B", "C", "C", None, "D"],
)
SHAPES = {
    "many_to_one, group_by": "    group_by: [ref]\n",
    "many_to_one, subsets": "",
    "one_to_many, group_by": "    group_by: [ref]\n",
    "one_to_many, subsets": "",
    "many_to_many, group_by": "    group_by: [ref]\n",
    "many_to_many, components": "",
}
EXTRA = {"many_to_many, components": "      - {left: ref, right: ref, op: equals}\n"}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_grouped_kind_identical(spark, monkeypatch, shape):
    """The same outcome, and the explanations byte for byte DuckDB's: made by the same DuckDB query run in
    Spark per partition of groups (recon.engine.spark.grouped), not on the driver."""
    from recon.engine.spark import SparkBackend

    def not_on_the_driver(self, query):
        raise AssertionError("a grouped explanation query ran on the driver")

    monkeypatch.setattr(SparkBackend, "_on_driver", not_on_the_driver)

    kind = shape.split(",")[0]
    rules = rules_for(
        f"  - name: g\n    kind: {kind}\n{SHAPES[shape]}    max_group_size: 3\n"
        "    match:\n      - {left: date, right: date, op: within_days, days: 2}\n"
        f"{EXTRA.get(shape, '')}"
        "    sum: {left: amount, right: amount, abs: 0.01}\n"
        "    compare:\n      - {left: ref, right: ref}\n"
    )
    expected = reconcile(LEFT, RIGHT, rules)
    assert expected.summary["passes"][0]["groups"] > 0
    result = reconcile(LEFT, RIGHT, rules, backend=SparkBackend(spark))
    assert outcome(result) == outcome(expected)
    assert texts(result) == texts(expected)
