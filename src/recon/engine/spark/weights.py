"""Frequency-weighted similarities (`tf` items) of a one_to_one pass weighed in Spark by the engine's code.

- **The pass's vocabulary** (word_vocabulary): the words of the pass tables' normalised texts counted in
  one Spark job: per word the records (both sides) that have it and its first appearance (side, record,
  position in the text), and, by a NULL word per record with words, the records that count. The driver
  receives one row per distinct word, orders the words by first appearance (the word ids
  `frequency.build_vocabulary` gives them: its dictionary encodes the left records' words in rid order,
  then the right ones'), and weighs them with the same expression (frequency.word_weight). Word ids
  matter: a record keeps its MAX_WORDS heaviest words with ties to the lower id, and its words' bits are
  summed in id order. No record's words are built on the driver.
- **The pairs** (weighted_in_spark): the driver stages the pairs (two record numbers each), Spark joins
  them to the pass tables' texts and a pandas UDF runs `frequency.weigh_texts` (the records' words from
  the pooled vocabulary, then `frequency.weighted_similarity` itself), so the values are bit for bit the
  driver's. The vocabulary travels in the UDF's closure (words and weights: Spark Connect has no
  broadcast variables) and each Python worker builds its word attributes and index once (`shipped`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from recon.engine import frequency
from recon.engine.arrays import FloatArray, IntArray
from recon.engine.errors import EngineError
from recon.engine.spark.grouped import quoted

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame


class Relations(Protocol):
    """What this module needs of the Spark backend."""

    def frame(self, name: str) -> DataFrame: ...

    def stage(self, name: str, table: pa.Table) -> DataFrame: ...


def text_order_words(values: pd.Series) -> pd.Series:
    """The UDF's body: the words of each text in text order (frequency.split_words), repeats kept."""
    lists = frequency.split_words(pa.array(values, type=pa.string(), from_pandas=True)).to_pylist()
    return pd.Series([words or [] for words in lists], index=values.index)


def _words(column: Column) -> Column:
    from pyspark.sql.functions import pandas_udf

    udf: Any = pandas_udf(text_order_words, "array<string>")
    return udf(column)


def word_vocabulary(backend: Relations, relations: tuple[str, str], column: str) -> frequency.Vocabulary:
    """build_vocabulary's words (in its id order) and weights of the texts `column` of the records of two
    relations (__rid), counted in one Spark job; as frequency.pooled_vocabulary (no record's words)."""
    from pyspark.sql import functions as F

    def rows(name: str, side: int) -> DataFrame:
        frame = backend.frame(name).select(
            F.col("__rid").alias("rid"), _words(F.col(quoted(column))).alias("ws")
        )
        # a NULL word after the words of a record that has any: the records that count, in the same job
        listed = F.when(F.size("ws") > 0, F.concat("ws", F.array(F.lit(None).cast("string")))).otherwise(
            F.col("ws")
        )
        return frame.select(F.lit(side).alias("s"), "rid", F.posexplode(listed).alias("pos", "w"))

    stacked = rows(relations[0], 0).unionByName(rows(relations[1], 1))
    per_record = stacked.groupBy("s", "rid", "w").agg(F.min("pos").alias("pos"))
    counts = per_record.groupBy("w").agg(
        F.count(F.lit(1)).alias("n"), F.min(F.struct("s", "rid", "pos")).alias("first")
    )
    table = counts.select("w", "n", "first.s", "first.rid", "first.pos").toArrow()

    def ints(name: str) -> IntArray:
        return np.asarray(table.column(name).to_numpy(zero_copy_only=False), np.int64)

    found = table.column("w").combine_chunks().cast(pa.string())
    is_word = np.asarray(found.is_valid().to_numpy(zero_copy_only=False), bool)
    n = ints("n")
    records = int(n[~is_word].sum())
    order = np.lexsort((ints("pos"), ints("rid"), ints("s")))  # first appearance: the driver's word ids
    order = order[is_word[order]]
    words = found.take(pa.array(order))
    return frequency.pooled_vocabulary(words, frequency.word_weight(n[order], records), records)


@dataclass(frozen=True)
class Shipped:
    """A pooled vocabulary as it travels to Spark's Python workers: its words and weights (the word
    attributes are rebuilt there by the same code), named by a token under which each worker keeps it."""

    token: str
    words: pa.Array
    weight: FloatArray
    records: int

    @staticmethod
    def of(vocabulary: frequency.Vocabulary) -> Shipped:
        return Shipped(uuid.uuid4().hex, vocabulary.words, vocabulary.weight, vocabulary.records)

    def vocabulary(self) -> tuple[frequency.Vocabulary, dict[str, int]]:
        """The vocabulary and its word index, built once per worker process."""
        known = _SHIPPED.get(self.token)
        if known is None:
            vocabulary = frequency.pooled_vocabulary(self.words, self.weight, self.records)
            known = vocabulary, frequency.word_index(vocabulary)
            _SHIPPED.clear()  # a worker keeps the latest vocabulary only (one pass's item at a time)
            _SHIPPED[self.token] = known
        return known


_SHIPPED: dict[str, tuple[frequency.Vocabulary, dict[str, int]]] = {}
PAIRS = "__tf_pairs"


def weighted_in_spark(
    backend: Relations,
    relations: tuple[str, str],
    column: str,
    method: str,
    vocabulary: frequency.Vocabulary,
    *,
    pairs: tuple[IntArray, IntArray],
) -> tuple[FloatArray, FloatArray]:
    """frequency.weighted_similarity (weighted, plain) of the pairs (left rid, right rid) of two relations'
    records, their texts `column` weighed in Spark under `vocabulary`; in pair order."""
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    left, right = pairs
    weighted, plain = np.zeros(len(left)), np.zeros(len(left))
    if len(left) == 0:
        return weighted, plain
    shipped = Shipped.of(vocabulary)

    def body(lefts: pd.Series, rights: pd.Series) -> pd.DataFrame:
        found, index = shipped.vocabulary()
        texts = [pa.array(values, type=pa.string(), from_pandas=True) for values in (lefts, rights)]
        w, p = frequency.weigh_texts(found, texts[0], texts[1], method, index)
        return pd.DataFrame({"w": w, "p": p})

    udf: Any = pandas_udf(body, "w double, p double")
    staged = backend.stage(
        PAIRS, pa.table({"i": np.arange(len(left), dtype=np.int64), "l": left, "r": right})
    )
    a = backend.frame(relations[0]).select(F.col("__rid").alias("l"), F.col(quoted(column)).alias("a"))
    b = backend.frame(relations[1]).select(F.col("__rid").alias("r"), F.col(quoted(column)).alias("b"))
    joined = staged.join(a, "l").join(b, "r").select("i", udf("a", "b").alias("x"))
    table = joined.select("i", "x.w", "x.p").toArrow()
    if table.num_rows != len(left):
        raise EngineError(f"{table.num_rows} weighted similarities made in Spark for {len(left)} pairs")
    at = np.asarray(table.column("i").to_numpy(zero_copy_only=False), np.int64)
    weighted[at] = np.asarray(table.column("w").to_numpy(zero_copy_only=False), np.float64)
    plain[at] = np.asarray(table.column("p").to_numpy(zero_copy_only=False), np.float64)
    return weighted, plain
