"""Exactly-once and control totals computed where the side is held (Spark), as the driver computes them."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from engine.helpers import rules_for, side
from recon.engine import reconcile, waterfall
from recon.engine.backend import DuckDBBackend, HeldSide
from recon.engine.errors import EngineError

pytestmark = pytest.mark.spark
# collected by `make pytest` (-m 'not spark') too, where the spark group (sqlglot) is absent
spark_checks = pytest.importorskip(
    "recon.engine.spark.checks", reason="the spark dependency group is not installed"
)

RULES = """\
  - name: p
    kind: one_to_one
    match:
      - {left: amount, right: amount, op: tolerance, abs: 0.05}
"""


def _side_relation(amounts: list[str], kind: pa.DataType) -> pa.Table:
    values = pa.array([Decimal(a) for a in amounts]).cast(kind)
    return pa.table({"__rid": np.arange(len(amounts), dtype=np.int64), "amount": values})


def _members() -> pa.Table:
    # left: rid 1 in two groups, rid 7 is no record of the side; records 2, 3 and 4 in no group
    # right: rid 0 once, record 1 in no group
    return pa.table(
        {
            "side": np.array([0, 0, 0, 0, 1], np.int8),
            "rid": np.array([0, 1, 1, 7, 0], np.int64),
            "status": np.array([0, 1, 1, 2, 0], np.int8),
        }
    )


@pytest.mark.parametrize("where", ["duckdb", "spark"])
def test_held_totals_count_and_sum_both_sides_where_they_are_held(request, where):
    from recon.engine.spark import SparkBackend

    backend = (
        DuckDBBackend(None, None, 1) if where == "duckdb" else SparkBackend(request.getfixturevalue("spark"))
    )
    try:
        backend.register(
            "L", _side_relation(["10.00", "20.50", "-3.25", "7.00", "0.01"], pa.decimal128(38, 2))
        )
        # the right side's amounts at another scale: each side keeps its own type
        backend.register("R", _side_relation(["1.5", "2.25"], pa.decimal128(10, 3)))
        held = {"left": HeldSide("L", "amount"), "right": HeldSide("R", "amount")}
        totals = spark_checks.held_totals(backend, held, _members())
    finally:
        backend.close()
    left, right = totals["left"], totals["right"]
    assert left.records == (1, 1, 0, 3)  # rid 7 is a member of no record: counted in no status
    assert left.listed == 7  # 4 member rows + 3 unmatched records
    assert left.not_once == 2  # rid 1 twice, rid 7 unknown
    assert left.amounts == (Decimal("10.00"), Decimal("20.50"), None, Decimal("3.76"))
    assert left.total == Decimal("34.26")
    assert (right.records, right.listed, right.not_once) == ((1, 0, 0, 1), 2, 0)
    assert right.amounts == (Decimal("1.500"), None, None, Decimal("2.250"))
    assert right.total == Decimal("3.750")


@pytest.mark.parametrize("where", ["duckdb", "spark"])
def test_a_side_without_a_summable_amount_gives_counts_only(request, where):
    from recon.engine.spark import SparkBackend

    backend = (
        DuckDBBackend(None, None, 1) if where == "duckdb" else SparkBackend(request.getfixturevalue("spark"))
    )
    try:
        backend.register("L", _side_relation(["1.00", "2.00"], pa.decimal128(12, 2)))
        backend.register("R", _side_relation(["5"], pa.decimal128(12, 0)))
        held = {"left": HeldSide("L", None), "right": HeldSide("R", "amount")}
        totals = spark_checks.held_totals(backend, held, _members().slice(4))
    finally:
        backend.close()
    assert totals["left"].records == (0, 0, 0, 2)
    assert (totals["left"].amounts, totals["left"].total) == (None, None)
    assert totals["right"].amounts == (Decimal("5"), None, None, None)


def test_both_sides_are_counted_in_one_query():
    query = spark_checks.totals_query({"left": HeldSide("L", "a"), "right": HeldSide("R", None)}, "__m")
    assert query.count("FROM __m WHERE side = 0") == query.count("FROM __m WHERE side = 1") == 1
    assert query.count("FROM L l FULL OUTER JOIN") == query.count("FROM R l FULL OUTER JOIN") == 1


def _pairs():
    left = side(["a", "b", "c", "d"], ["10.00", "20.00", "30.00", "40.00"])
    right = side(["x", "y", "z"], ["10.01", "20.02", "99.00"])
    return left, right, rules_for(RULES)


def test_spark_totals_give_the_drivers_summary(backend):
    left, right, rules = _pairs()
    result = reconcile(left, right, rules, backend=backend())
    assert result.summary["left"]["amounts"] == {
        "total": "100.00",
        "matched": "30.00",
        "suggested": "0.00",
        "break": "0.00",
        "unmatched": "70.00",
        "rejected": "0.00",
    }
    assert result.summary["checks"] == {"exactly_once": True, "control_totals": True}


def test_a_record_in_two_groups_fails_alike_on_both_backends(backend, monkeypatch):
    """A result that lists one left record twice (and so drops another): the same EngineError whether the
    driver's arrays or the backend's query count it."""
    build = waterfall.build

    def broken(outcome, version, held=None):
        first = outcome.results[0]
        lefts = np.flatnonzero(first.side == 0)
        first.rid[lefts[1]] = first.rid[lefts[0]]
        return build(outcome, version, held)

    monkeypatch.setattr(waterfall, "build", broken)
    left, right, rules = _pairs()
    with pytest.raises(EngineError) as failed:
        reconcile(left, right, rules, backend=backend())
    assert str(failed.value) == (
        "exactly-once check failed: left: 1 records not present exactly once; "
        "left: 5 output rows for 4 input records"
    )
