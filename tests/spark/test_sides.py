"""A side's normalised texts and word weights computed in Spark (recon.engine.spark.sides) are the engine's:
the same strings as normalize.apply and the same weights as frequency.build_vocabulary, compared exactly."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest

from recon.engine import frequency, normalize

pytestmark = pytest.mark.spark
# collected by `make pytest` (-m 'not spark') too, where the spark group (sqlglot) is absent
sides = pytest.importorskip("recon.engine.spark.sides", reason="the spark dependency group is not installed")

TEXTS = [
    "  Société Générale  S.A. ",
    "MÜLLER & SÖHNE GmbH",
    "Straße 12, Köln",
    "ACME  TRADING\tLTD.",
    "O'Neil-Smith, J.",
    "0001234-56/78",
    "Zürich   Versicherungs–Gesellschaft",
    "İstanbul Çay A.Ş.",
    "ŁÓDŹ  sp. z o.o.",
    "北京 贸易 有限公司",
    "",
    "   ",
    "...",
    None,
    "plain words only",
    "café’s   crème",
    "000",
    "Ærø  Øst",
]
SEQUENCES = [
    ("trim",),
    ("upper",),
    ("lower",),
    ("digits",),
    ("alnum",),
    ("collapse_spaces",),
    ("strip_leading_zeros",),
    ("transliterate",),
    ("words",),
    ("transliterate", "words", "upper"),
    ("trim", "collapse_spaces", "lower"),
    ("digits", "strip_leading_zeros"),
    ("trim", "digits"),  # in Spark's own functions (sides.EXACT_IN_SQL)
]
ALPHABET = [*"abcXYZ019 .,'’-&/", "é", "ß", "Ø", "ł", "\t", "  ", "İ", "ç", "贸", "٣", "\r", "\x0b"]


def _random_texts(count: int, seed: int) -> list[str | None]:
    chooser = random.Random(seed)
    texts: list[str | None] = []
    for _ in range(count):
        if chooser.random() < 0.05:
            texts.append(None)
            continue
        texts.append("".join(chooser.choice(ALPHABET) for _ in range(chooser.randint(0, 24))))
    return texts


def _frame(spark, texts):
    import pandas as pd

    return spark.createDataFrame(
        pd.DataFrame({"rid": np.arange(len(texts), dtype=np.int64), "text": pd.Series(texts, dtype=object)}),
        "rid long, text string",
    )


@pytest.mark.parametrize("normalizers", SEQUENCES, ids="/".join)
def test_normalisers_in_spark_are_the_engines(spark, normalizers):
    texts = TEXTS + _random_texts(300, seed=len(normalizers))
    frame = sides.derive(_frame(spark, texts), "text", normalizers, "__t0").orderBy("rid")
    got = frame.select("__t0").toArrow().column("__t0").to_pylist()
    assert got == normalize.apply(pa.array(texts, pa.string()), normalizers).to_pylist()


def test_an_unknown_normaliser_fails_on_the_driver(spark):
    with pytest.raises(ValueError, match="unknown normalizer"):
        sides.normalized("text", ("soundex",))


def test_word_weights_in_spark_are_the_engines(spark):
    left = [*TEXTS, *_random_texts(400, seed=1)]
    right = [*reversed(TEXTS), *_random_texts(500, seed=2)]
    # the engine weighs words of normalised texts: the usual form, then the raw ones
    for normalizers in (("transliterate", "words", "upper"), ()):
        lefts = normalize.apply(pa.array(left, pa.string()), normalizers) if normalizers else left
        rights = normalize.apply(pa.array(right, pa.string()), normalizers) if normalizers else right
        lefts, rights = pa.array(lefts, pa.string()), pa.array(rights, pa.string())
        engine = frequency.build_vocabulary(lefts, rights)
        found = sides.word_weights(_frame(spark, lefts.to_pylist()), _frame(spark, rights.to_pylist()))
        assert found.records == engine.records
        expected = dict(zip(engine.words.to_pylist(), engine.weight.tolist(), strict=True))
        assert found.as_dict() == expected  # exact: the same doubles


def test_word_weights_of_a_passs_open_records(spark):
    left = pa.array(["ACME TRADING", "ACME LTD", "GLOBEX", None, "ACME"], pa.string())
    right = pa.array(["ACME TRADING LTD", "INITECH", "GLOBEX GLOBEX", ""], pa.string())
    open_left, open_right = np.array([0, 2, 4], np.int64), np.array([1, 2], np.int64)
    engine = frequency.build_vocabulary(left, right, (open_left, open_right))
    from pyspark.sql import functions as F

    frames = [
        _frame(spark, column.to_pylist()).where(F.col("rid").isin(rids.tolist()))
        for column, rids in ((left, open_left), (right, open_right))
    ]
    found = sides.word_weights(*frames)
    assert found.records == engine.records == 5
    assert found.as_dict() == dict(zip(engine.words.to_pylist(), engine.weight.tolist(), strict=True))
    assert found.as_dict()["GLOBEX"] == np.log2(6 / 2)  # once per record, though twice in one text


def test_no_words_no_weights(spark):
    found = sides.word_weights(_frame(spark, [None, ""]), _frame(spark, ["  "]))
    assert found.records == 0 and len(found.words) == 0


def test_a_normalised_column_only_queries_read_is_made_in_spark(spark, monkeypatch):
    """An equals condition's normalised operands: made in Spark, never on the driver, same outcome."""
    from engine.helpers import rules_for, side
    from recon.engine import executor, reconcile
    from recon.engine.spark import SparkBackend

    from .outcomes import explanations, outcome

    rules = rules_for(
        "  - name: p\n    kind: one_to_one\n    match:\n"
        "      - {left: ref, right: ref, op: equals, normalize: [transliterate, upper, alnum]}\n"
    )
    left = side(["a", "b", "c"], ["10.00", "20.00", "30.00"], ref=["Réf-001", "inv 002", None])
    right = side(["x", "y", "z"], ["10.03", "25.00", "30.00"], ref=["REF001", "INV-002", ""])
    expected = reconcile(left, right, rules, threads=1)
    made_on_the_driver = []
    original = executor.normalize_in_chunks

    def counted(values, normalizers):
        made_on_the_driver.append(normalizers)
        return original(values, normalizers)

    monkeypatch.setattr(executor, "normalize_in_chunks", counted)
    result = reconcile(left, right, rules, backend=SparkBackend(spark))
    assert made_on_the_driver == []
    assert len(outcome(result)["groups"]) == 2
    assert outcome(result) == outcome(expected)
    assert explanations(result) == explanations(expected)


def test_spark_failures_become_the_engines_query_failed(spark):
    """A query Spark refuses reaches the engine as QueryFailed (the kind for users, Spark's text in `detail`);
    the engine's own errors pass through unchanged."""
    from recon.engine.errors import EngineError, QueryFailed
    from recon.engine.spark import SparkBackend
    from recon.engine.spark.session import spark_failures

    backend = SparkBackend(spark)
    with pytest.raises(QueryFailed) as refused:
        backend.arrow("SELECT * FROM no_such_relation_here")
    assert refused.value.detail and "no_such_relation_here" in refused.value.detail
    own = EngineError("the engine's own words")
    with pytest.raises(EngineError) as passed, spark_failures():
        raise own
    assert passed.value is own
