"""token_set score items and match conditions, and the word weights of `tf` items, computed in Spark by the
driver's own code (pandas UDFs): the same scores and explanations, and the texts stay in Spark."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from engine.helpers import rules_for, side
from recon.engine import executor, reconcile

from .outcomes import explanations, outcome, texts

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


# the name's words block crowded blocks (the first weighted item: its vocabulary is the driver's);
# the memo is weighed in Spark when tf is on
PASS = """\
  - name: near
    kind: one_to_one
    match:
      - {{left: amount, right: amount, op: tolerance, abs: 1}}
      - {{left: name, right: name, op: similarity, method: token_set, min: 0.3, normalize: [upper]}}
    score:
      - {{left: name, right: name, method: token_set, weight: 2, normalize: [upper], tf: {tf}}}
      - {{left: memo, right: memo, method: jaro_winkler, weight: 1, tf: {tf}}}
    min_score: 0.5
"""


def _sides():
    names = ["Acme Tools", "Globex Corp", "Initech", "Umbrella Ltd", "Acme Tools", "Hooli"]
    others = ["TOOLS ACME", "GLOBEX", "INITECH LLC", "Umbrella", "Acme", "Pied Piper"]
    memos = ["office rent", "bank fee", "rent march", None, "card fee", "misc Käse items"]
    amounts = ["10.00", "10.50", "20.00", "20.40", "10.20", "30.00"]
    left = side([f"L{k}" for k in range(6)], amounts, name=names, memo=memos)
    right = side([f"R{k}" for k in range(6)], amounts, name=others, memo=memos[::-1])
    return left, right


@pytest.mark.parametrize("tf", ["false", "true"])
def test_token_set_scores_identical_and_the_texts_stay_in_spark(spark, monkeypatch, tf):
    """token_set score items and match conditions scored in Spark (the driver reads no operand text),
    and with tf the memo's word weights counted and weighed in Spark and its explanations' word texts
    made there (the driver builds no vocabulary of it): outcome and explanations as DuckDB's."""
    from recon.engine.spark import SparkBackend

    left, right = _sides()
    rules = rules_for(PASS.format(tf=tf))
    expected = reconcile(left, right, rules, threads=1)

    def no_texts_on_the_driver(*_):
        raise AssertionError("the Spark backend read a score item's texts on the driver")

    def no_condition_texts_on_the_driver(*_):
        raise AssertionError("the Spark backend read a match condition's texts on the driver")

    built = executor.Session.vocabulary

    def only_the_blocking_vocabulary(self, text, vocabularies=None):
        assert text.left_column == "name", "the driver built the vocabulary of an item weighed in Spark"
        return built(self, text, vocabularies)

    monkeypatch.setattr(executor.ScoreTexts, "operand", no_texts_on_the_driver)
    monkeypatch.setattr(executor.Session, "token_set", no_condition_texts_on_the_driver)
    monkeypatch.setattr(executor.Session, "vocabulary", only_the_blocking_vocabulary)
    backend = SparkBackend(spark)
    calls = {"token_set": 0, "weighted": 0}
    for name in calls:
        original = getattr(backend, name)

        def counted(*args, _original=original, _name=name, **options):
            calls[_name] += 1
            return _original(*args, **options)

        setattr(backend, name, counted)
    result = reconcile(left, right, rules, backend=backend)
    assert result.summary["left"]["matched"] + result.summary["left"]["suggested"] >= 4
    assert outcome(result) == outcome(expected)
    assert explanations(result) == explanations(expected)
    assert calls["token_set"] >= 2  # the match condition's and the score item's
    assert (calls["weighted"] > 0) == (tf == "true")
    if tf == "true":
        made = texts(result)
        assert made == texts(expected)  # byte for byte, the memo's word texts made in Spark
        assert any('"field":"memo"' in (text or "") and '"words"' in (text or "") for text in made.values())
