"""The same rules on both backends: the same groups, statuses, reasons and control totals."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.helpers import groups_of, reasons_of, rules_for, side
from engine.test_properties import conditions, score_items, tables
from recon.engine import EngineError, parse_rules, reconcile

from .outcomes import outcome

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's ledger and bank (300 rows) with the demo rules' one_to_one passes."""
    from recon.cli.match import read_side
    from recon.demo.generator import generate

    files = generate(300, tmp_path_factory.mktemp("demo"))
    document = yaml.safe_load(files.rules.read_text())
    document["passes"] = [p for p in document["passes"] if p["kind"] == "one_to_one"]
    rules = parse_rules(yaml.safe_dump(document), source="demo.yaml")
    left = read_side(files.left, rules, "left", Path(files.rules))
    right = read_side(files.right, rules, "right", Path(files.rules))
    reference = reconcile(left.table, right.table, rules)
    return left.table, right.table, rules, outcome(reference)


def test_demo_one_to_one_passes_identical(backend, demo):
    left, right, rules, reference = demo
    result = reconcile(left, right, rules, backend=backend())
    assert result.summary["checks"] == {"exactly_once": True, "control_totals": True}
    assert result.summary["left"]["matched"] > 200  # the demo's passes find most pairs
    assert outcome(result) == reference


def test_demo_identical_with_the_assignment_solved_in_spark(spark, demo):
    from recon.engine.spark import SparkBackend

    left, right, rules, reference = demo
    result = reconcile(left, right, rules, backend=SparkBackend(spark, driver_edges=0))
    assert outcome(result) == reference


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


def test_a_grouped_pass_is_refused_by_name_on_spark(spark):
    from recon.engine.spark import SparkBackend

    rules = rules_for(
        "  - name: batches\n    kind: many_to_one\n    group_by: [ref]\n    max_group_size: 3\n"
        "    sum: {left: amount, right: amount, abs: 0}\n"
    )
    left = side(["a"], ["1.00"], ref=["r"])
    right = side(["x"], ["1.00"], ref=["r"])
    with pytest.raises(EngineError, match=r"pass 'batches' \(many_to_one\): the Spark backend does not run"):
        reconcile(left, right, rules, backend=SparkBackend(spark))


@st.composite
def one_to_one_rules(draw) -> str:
    passes = []
    for index in range(draw(st.integers(1, 2))):
        spec: dict = {"name": f"p{index}", "kind": "one_to_one"}
        spec["match"] = draw(st.lists(conditions, min_size=1, max_size=3))
        scores = draw(score_items)
        if scores:
            spec["score"] = scores
        if draw(st.booleans()):
            spec["min_score"] = draw(st.sampled_from([0.3, 0.8]))
        if draw(st.booleans()):
            spec["compare"] = [{"left": "amount", "right": "amount", "abs": 0.01}]
        passes.append(spec)
    duplicates = draw(st.sampled_from(["flag", "allow"]))
    document = {
        "version": 1,
        "name": "random",
        "left": {"id": "id"},
        "right": {"id": "id"},
        "duplicates": duplicates,
        "passes": passes,
    }
    return json.dumps(document)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(tables("L"), tables("R"), one_to_one_rules())
def test_random_one_to_one_rules_identical_on_spark(spark, left: pa.Table, right: pa.Table, text: str):
    from recon.engine.spark import SparkBackend

    rules = parse_rules(text)
    expected = outcome(reconcile(left, right, rules, threads=1))
    assert outcome(reconcile(left, right, rules, backend=SparkBackend(spark))) == expected
