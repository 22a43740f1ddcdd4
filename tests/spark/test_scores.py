"""token_set score items computed in Spark by the driver's own code (a pandas UDF): the same scores, and
the texts stay in Spark."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from engine.helpers import rules_for, side
from recon.engine import executor, reconcile

from .outcomes import explanations, outcome

pytestmark = pytest.mark.spark
# collected by `make pytest` (-m 'not spark') too, where the spark group (sqlglot) is absent
spark_scores = pytest.importorskip(
    "recon.engine.spark.scores", reason="the spark dependency group is not installed"
)

LEFT = ["Acme Tools GmbH", None, "RENT MARCH 2024", "Zürich Käse AG", "", "a b c"]
RIGHT = ["TOOLS ACME", "Globex", None, "Kase Zurich", "x", "c b a"]


def test_the_udf_scores_as_the_driver_does(spark):
    from recon.engine.spark import SparkBackend

    backend = SparkBackend(spark)
    try:
        backend.register("__a", pa.table({"__rid": np.arange(6, dtype=np.int64), "t": LEFT}))
        backend.register("__b", pa.table({"__rid": np.arange(6, dtype=np.int64), "t": RIGHT}))
        left = np.array([0, 1, 2, 3, 4, 5, 0, 0], np.int64)  # every record, one twice, a cross pair
        right = np.array([0, 1, 2, 3, 4, 5, 3, 0], np.int64)
        found = spark_scores.token_set_in_spark(backend, ("__a", "__b"), "t", left, right)
    finally:
        backend.close()
    expected = executor.token_set_ratios([LEFT[i] for i in left], [RIGHT[i] for i in right])
    assert found.tolist() == expected.tolist()  # the same code: bit for bit
    assert spark_scores.token_set_in_spark(backend, ("__a", "__b"), "t", left[:0], right[:0]).tolist() == []


PASS = """\
  - name: near
    kind: one_to_one
    match:
      - {{left: amount, right: amount, op: tolerance, abs: 1}}
    score:
      - {{left: name, right: name, method: token_set, weight: 2, normalize: [upper], tf: {tf}}}
      - {{left: memo, right: memo, method: jaro_winkler, weight: 1, tf: false}}
    min_score: 0.5
"""


def _sides():
    names = ["Acme Tools", "Globex Corp", "Initech", "Umbrella Ltd", "Acme Tools", "Hooli"]
    others = ["TOOLS ACME", "GLOBEX", "INITECH LLC", "Umbrella", "Acme", "Pied Piper"]
    memos = ["rent", "fee", "rent", None, "fee", "misc"]
    amounts = ["10.00", "10.50", "20.00", "20.40", "10.20", "30.00"]
    left = side([f"L{k}" for k in range(6)], amounts, name=names, memo=memos)
    right = side([f"R{k}" for k in range(6)], amounts, name=others, memo=memos[::-1])
    return left, right


@pytest.mark.parametrize("tf", ["false", "true"])
def test_token_set_scores_identical_and_the_texts_stay_in_spark(spark, monkeypatch, tf):
    from recon.engine.spark import SparkBackend

    left, right = _sides()
    rules = rules_for(PASS.format(tf=tf))
    expected = reconcile(left, right, rules, threads=1)

    def no_texts_on_the_driver(*_):
        raise AssertionError("the Spark backend read a score item's texts on the driver")

    monkeypatch.setattr(executor.ScoreTexts, "operand", no_texts_on_the_driver)
    result = reconcile(left, right, rules, backend=SparkBackend(spark))
    assert result.summary["left"]["matched"] + result.summary["left"]["suggested"] >= 4
    assert outcome(result) == outcome(expected)
    assert explanations(result) == explanations(expected)
