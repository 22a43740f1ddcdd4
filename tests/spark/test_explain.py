"""One_to_one pair explanations made in Spark by the engine's own code (mapInArrow running
recon.engine.explain.pair_json): the driver's texts byte for byte; the explanations read no value of the
sides on the driver."""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings

from engine.helpers import rules_for
from engine.test_properties import rule_sets, tables
from recon.engine import executor, parse_rules, reconcile

from .outcomes import explanations, outcome, texts

pytestmark = pytest.mark.spark
# collected by `make pytest` (-m 'not spark') too, where the spark group (sqlglot) is absent
spark_explain = pytest.importorskip(
    "recon.engine.spark.explain", reason="the spark dependency group is not installed"
)


def on_the_driver(monkeypatch):
    """The Spark backend with the pair explanations made on the driver (as before this module)."""
    from recon.engine.spark import SparkBackend

    monkeypatch.setattr(SparkBackend, "pair_explanations", lambda *_: None)


def no_values_on_the_driver(monkeypatch):
    """A read of a side's column on the driver for an explanation fails (their values must come from
    Spark; the normalisers, still on the driver, read theirs)."""
    read = executor.Session.column

    def refuse(self, side, column):
        if Path(sys._getframe(1).f_code.co_filename).name == "explain.py":
            raise AssertionError(f"an explanation read {side}.{column} on the driver")
        return read(self, side, column)

    monkeypatch.setattr(executor.Session, "column", refuse)


def _date(text):
    return None if text is None else dt.date.fromisoformat(text)


def _sides():
    """Texts that need JSON escaping (quotes, backslashes, a newline, a tab), non-ASCII, NULLs, decimals of
    two scales, dates, timestamps, integers and floats."""
    names = ['Acme "Tools"', "Globex\\Corp", "Ini\ntech", None, "Zürich Käse AG", "Hooli\t", "Acme", "x"]
    others = ["ACME TOOLS", "GLOBEX CORP", "INITECH", "Umbrella", "Kase Zurich", "HOOLI", "ACME", "y"]
    amounts = ["10.00", "10.50", "20.00", "20.40", "12.20", "30.00", "10.01", "99.00"]
    days = ["2024-03-01", "2024-03-02", None, "2024-03-04", "2024-03-05", "2024-03-06", "2024-03-01", None]
    left = pa.table(
        {
            "id": [f"L{k}" for k in range(8)],
            "amount": pa.array([Decimal(a) for a in amounts], pa.decimal128(38, 2)),
            "date": pa.array([_date(d) for d in days], pa.date32()),
            "at": pa.array([dt.datetime(2024, 3, 1, k, 30) for k in range(8)], pa.timestamp("us")),
            "name": names,
            "n.units": pa.array([1, 2, 3, None, 5, 6, 7, 8], pa.int64()),
            "fx rate": pa.array([0.5, 1.25, None, 2.0, 1e-7, 3.0, 0.1, 0.2], pa.float64()),
        }
    )
    right = pa.table(
        {
            "id": [f"R{k}" for k in range(8)],
            "amount": pa.array([Decimal(a) / 10 * 10 for a in amounts], pa.decimal128(20, 3)),
            "date": pa.array([_date(d) for d in [*days[1:], "2024-03-09"]], pa.date32()),
            "at": pa.array([dt.datetime(2024, 3, 2, k) for k in range(8)], pa.timestamp("us")),
            "name": others,
            "n.units": pa.array([1, 2, 4, 4, None, 6, 7, 9], pa.int64()),
            "fx rate": pa.array([0.5, 1.0, 2.0, None, 1e-7, 3.5, 0.1, 0.3], pa.float64()),
        }
    )
    return left, right


PASSES = """\
  - name: near
    kind: one_to_one
    match:
      - {{left: amount, right: amount, op: tolerance, abs: 1}}
    score:
      - {{left: name, right: name, method: token_set, weight: 2, normalize: [upper, alnum], tf: {tf}}}
      - {{left: name, right: name, method: jaro_winkler, weight: 1, tf: false}}
    compare:
      - {{left: date, right: date, days: 1}}
      - {{left: at, right: at}}
      - {{left: n.units, right: n.units}}
      - {{left: fx rate, right: fx rate, abs: 0.1}}
      - {{left: amount, right: amount, abs: 0.005}}
    min_score: 0.2
    margin: 0.3
"""


@pytest.mark.parametrize("tf", ["false", "true"])
def test_pair_explanations_made_in_spark_are_the_drivers(spark, monkeypatch, tf):
    from recon.engine.spark import SparkBackend

    left, right = _sides()
    rules = rules_for(PASSES.format(tf=tf))
    expected = reconcile(left, right, rules, threads=1)
    with monkeypatch.context() as patch:
        on_the_driver(patch)
        built_on_the_driver = reconcile(left, right, rules, backend=SparkBackend(spark))
    no_values_on_the_driver(monkeypatch)
    result = reconcile(left, right, rules, backend=SparkBackend(spark))
    found = texts(result)
    assert found == texts(built_on_the_driver)  # byte for byte
    assert len(found) >= 5
    assert any('\\"Tools\\"' in text and "\\n" not in text for text in found.values())
    assert any("Ini\\ntech" in text for text in found.values())
    assert any('"rival"' in text for text in found.values())
    assert any(('"words"' in text) == (tf == "true") for text in found.values())
    assert outcome(result) == outcome(expected)
    assert explanations(result) == explanations(expected)


def test_the_guard_sees_explanations_read_on_the_driver(spark, monkeypatch):
    from recon.engine.spark import SparkBackend

    left, right = _sides()
    on_the_driver(monkeypatch)
    no_values_on_the_driver(monkeypatch)
    with pytest.raises(AssertionError, match=r"an explanation read left\.amount on the driver"):
        reconcile(left, right, rules_for(PASSES.format(tf="false")), backend=SparkBackend(spark))


def test_no_pairs_no_spark_job(spark):
    from recon.engine.explain import PairFacts
    from recon.engine.spark import SparkBackend

    rules = rules_for(PASSES.format(tf="false"))
    backend = SparkBackend(spark)
    empty = pa.array([], pa.int64()).to_numpy()
    facts = PairFacts({}, {}, empty.astype(bool), {}, None, None)
    try:
        made = spark_explain.pair_explanations_in_spark(backend, rules.passes[0], (empty, empty), facts)
    finally:
        backend.close()
    assert made.to_pylist() == []


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(tables("L"), tables("R"), rule_sets(kinds=("one_to_one",), max_passes=2))
def test_random_one_to_one_rules_explained_in_spark(spark, left: pa.Table, right: pa.Table, text: str):
    """The engine property tests' one_to_one rule sets: explanations made in Spark, with no value read on
    the driver, are those made on the driver (bytes) and DuckDB's (parsed: Jaro-Winkler's last bit may
    differ); the outcomes are DuckDB's (this is also the Spark group's random one_to_one comparison)."""
    from recon.engine.spark import SparkBackend

    rules = parse_rules(text)
    expected = reconcile(left, right, rules, threads=1)
    with pytest.MonkeyPatch.context() as patch:
        on_the_driver(patch)
        built_on_the_driver = reconcile(left, right, rules, backend=SparkBackend(spark))
    with pytest.MonkeyPatch.context() as patch:
        no_values_on_the_driver(patch)
        result = reconcile(left, right, rules, backend=SparkBackend(spark))
    assert texts(result) == texts(built_on_the_driver)
    assert outcome(result) == outcome(expected)
    assert explanations(result) == explanations(expected)
