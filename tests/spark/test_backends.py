"""The same rules on both backends: the same groups, statuses, reasons and control totals."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings

from engine.helpers import groups_of, reasons_of, rules_for, side
from engine.test_properties import rule_sets, tables
from recon.engine import parse_rules, reconcile

from .outcomes import explanations, outcome

pytestmark = pytest.mark.spark


def test_demo_passes_identical(demo):
    """The demo's passes on DuckDB (the reference, made once) give what the driver-side checks expect."""
    reference = demo[3]
    assert reference.summary["checks"] == {"exactly_once": True, "control_totals": True}
    assert reference.summary["left"]["matched"] > 200  # the demo's passes find most pairs
    grouped = [p for p in reference.summary["passes"] if p["kind"] != "one_to_one"]
    assert grouped and all(p["groups"] > 0 for p in grouped)


def test_demo_identical_on_spark_with_explanations_and_the_assignment_in_spark(spark, demo, monkeypatch):
    """One Spark run of the demo checks what three did: the same outcome and explanations as DuckDB's,
    every one_to_one pair explanation made in Spark (no value of a side read on the driver), and every
    assignment solved in Spark (components and the grouped pandas UDF: driver_edges=0). The small cases
    (test_each_one_to_one_kind, the random rule sets) solve on the driver."""
    from recon.engine.spark import SparkBackend

    from .test_explain import no_values_on_the_driver

    left, right, rules, reference = demo
    made_in_spark = []
    original = SparkBackend.pair_explanations

    def counted(self, *args):
        made = original(self, *args)
        made_in_spark.append(len(made))
        return made

    monkeypatch.setattr(SparkBackend, "pair_explanations", counted)
    no_values_on_the_driver(monkeypatch)
    result = reconcile(left, right, rules, backend=SparkBackend(spark, driver_edges=0))
    assert result.summary["checks"] == {"exactly_once": True, "control_totals": True}
    one_to_one = sum(p["groups"] for p in result.summary["passes"] if p["kind"] == "one_to_one")
    assert sum(made_in_spark) == one_to_one > 200
    assert outcome(result) == outcome(reference)
    assert explanations(result) == explanations(reference)


KINDS = {
    "equals": "      - {left: ref, right: ref, op: equals, normalize: [upper, alnum]}\n",
    "tolerance": "      - {left: amount, right: amount, op: tolerance, abs: 0.05}\n",
    "within_days": "      - {left: date, right: date, op: within_days, days: 2}\n",
    "similarity": (
        "      - {left: ref, right: ref, op: similarity, method: jaro_winkler, min: 0.8,"
        " normalize: [upper, alnum]}\n"
    ),
}
EXPECTED = {
    "equals": [("p", "matched", ("a",), ("x",)), ("p", "matched", ("b",), ("y",))],
    "tolerance": [("p", "matched", ("a",), ("x",)), ("p", "matched", ("c",), ("z",))],
    "within_days": [("p", "matched", ("a",), ("x",)), ("p", "matched", ("b",), ("y",))],
    "similarity": [("p", "matched", ("a",), ("x",)), ("p", "matched", ("b",), ("y",))],
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_one_to_one_kind(backend, kind):
    rules = rules_for(f"  - name: p\n    kind: one_to_one\n    match:\n{KINDS[kind]}")
    left = side(
        ["a", "b", "c"],
        ["10.00", "20.00", "30.00"],
        ["2024-03-01", "2024-03-10", "2024-04-01"],
        ref=["INV-001", "inv 002", "ZZZ"],
    )
    right = side(
        ["x", "y", "z"],
        ["10.03", "25.00", "30.00"],
        ["2024-03-02", "2024-03-12", "2024-05-01"],
        ref=["inv001", "INV-002", "QQQ"],
    )
    result = reconcile(left, right, rules, backend=backend())
    assert groups_of(result) == EXPECTED[kind]
    unmatched = set(reasons_of(result.unmatched_left)) | set(reasons_of(result.unmatched_right))
    assert unmatched == {"a", "b", "c", "x", "y", "z"} - {i for g in EXPECTED[kind] for i in g[2] + g[3]}


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(tables("L"), tables("R"), rule_sets())
def test_random_rule_sets_with_grouped_kinds_identical_on_spark(
    spark, left: pa.Table, right: pa.Table, text: str
):
    """The engine property tests' rule sets (one_to_one, many_to_one, one_to_many, many_to_many, with and
    without group_by) give the same outcome and the same explanations on both backends."""
    from recon.engine.spark import SparkBackend

    rules = parse_rules(text)
    expected = reconcile(left, right, rules, threads=1)
    result = reconcile(left, right, rules, backend=SparkBackend(spark))
    assert outcome(result) == outcome(expected)
    assert explanations(result) == explanations(expected)
