"""A side's derived texts and word weights computed in Spark, where the side is, by the engine's own code.

- **Normalisers**: a pandas UDF runs `recon.engine.normalize.apply` (the engine's code, not a copy) on each
  Arrow batch of a column, so the texts are byte-identical to the driver's: accents folded
  (`transliterate`), punctuation as spaces (`words`), whitespace collapsed, empty results as NULL. Spark's
  own functions are used only where they are exact equivalents (`digits`, `trim`: EXACT_IN_SQL); `upper`,
  `lower`, `alnum`, `collapse_spaces` and the rest could not promise the same mappings and Unicode classes.
- **Word weights** (`recon.engine.frequency`): the words of a normalised text are those of
  `frequency.split_words` (the `words` normaliser, then split on whitespace); each record counts a word once;
  a word's document frequency is the number of records (both sides, only the given records) that have it,
  and `records` the number of records with at least one word. Both counts are a Spark aggregation; only
  the vocabulary (one row per distinct word) reaches the driver, where the weight is computed by
  `build_vocabulary`'s own function, `frequency.word_weight` (Spark's `log2` is Java's `StrictMath`, which
  may differ from numpy's in the last bit), so the weights are identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recon.engine import frequency, normalize
from recon.engine.arrays import FloatArray, IntArray

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame


def normalized_texts(values: pd.Series, normalizers: Sequence[str]) -> pd.Series:
    """The UDF's body: normalize.apply over one batch of texts (None: no text)."""
    array = pa.array(values, type=pa.string(), from_pandas=True)
    return pd.Series(normalize.apply(array, tuple(normalizers)).to_pylist(), index=values.index, dtype=object)


def text_words(values: pd.Series) -> pd.Series:
    """The UDF's body: the distinct words of each text (frequency's split: the `words` normaliser, then
    whitespace), sorted; an empty list for no text."""
    array = pa.array(values, type=pa.string(), from_pandas=True)
    lists = pc.utf8_split_whitespace(normalize.apply(array, ("words",))).to_pylist()
    return pd.Series([sorted(set(words)) if words else [] for words in lists], index=values.index)


# Normalisers Spark's own functions compute exactly as recon.engine.normalize does, on every text: `digits`
# (every character but 0-9 removed: Java's [^0-9] and RE2's are the same set of code points) and `trim`
# (spaces only, as Spark's trim). Not the others: Java's upper/lower map some characters to several
# (ŉ, ǰ, İ) where Arrow maps one to one, Java's `\s` includes VT and its `.` stops at CR (RE2's at LF
# only), and \p{L}/\p{N} follow another Unicode version.
EXACT_IN_SQL = frozenset({"digits", "trim"})


def in_sql(normalizers: Sequence[str]) -> bool:
    """Can Spark's own functions compute these normalisers exactly (no Python UDF)?"""
    return all(step in EXACT_IN_SQL for step in normalizers)


def normalized(column: Column | str, normalizers: Sequence[str]) -> Column:
    """A Spark column of normalised texts, byte-identical to normalize.apply's: Spark functions when
    they are exact equivalents (in_sql), else a pandas UDF running normalize.apply."""
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    chosen = tuple(normalizers)
    for step in chosen:  # an unknown normaliser fails here, not inside a Spark task
        normalize.apply(pa.array([], pa.string()), (step,))
    if in_sql(chosen):
        value = F.col(column) if isinstance(column, str) else column
        value = value.cast("string")
        for step in chosen:
            value = F.regexp_replace(value, "[^0-9]+", "") if step == "digits" else F.trim(value)
        return F.nullif(value, F.lit(""))  # empty results are NULL, as normalize.apply makes them

    def body(values: pd.Series) -> pd.Series:
        return normalized_texts(values, chosen)

    udf: Any = pandas_udf(body, "string")
    return udf(column)


def words(column: Column | str) -> Column:
    """A Spark column of each text's distinct words (array<string>)."""
    from pyspark.sql.functions import pandas_udf

    udf: Any = pandas_udf(text_words, "array<string>")
    return udf(column)


def derive(frame: DataFrame, column: str, normalizers: Sequence[str], alias: str) -> DataFrame:
    """The frame with a normalised copy of `column` as `alias` (the engine's derived column), computed
    by the executors: the driver never holds the column."""
    return frame.withColumn(alias, normalized(frame[f"`{column}`"], normalizers))


@dataclass(frozen=True)
class WordWeights:
    """The vocabulary of two texts, counted in Spark: each distinct word (sorted), the records that have
    it, its weight in bits; `records`: the records with at least one word (both sides)."""

    words: pa.Array
    doc_freq: IntArray
    weight: FloatArray
    records: int

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.words.to_pylist(), self.weight.tolist(), strict=True))


def word_weights(left: DataFrame, right: DataFrame, text: tuple[str, str] = ("text", "text")) -> WordWeights:
    """Word weights (frequency.build_vocabulary's) of the normalised texts `text` of two frames: one row
    per record (filter the frames to a pass's open records first). One Spark job; the driver receives the
    vocabulary, not the records."""
    from pyspark.sql import functions as F

    # one row per (record, distinct word), and a NULL word once per record with words: the records that
    # count are counted by the same aggregation, in one job
    exploded = [
        frame.select(words(frame[f"`{name}`"]).alias("ws")).select(
            F.explode(
                F.when(F.size("ws") > 0, F.concat("ws", F.array(F.lit(None).cast("string")))).otherwise(
                    F.col("ws")
                )
            ).alias("w")
        )
        for frame, name in zip((left, right), text, strict=True)
    ]
    counts = exploded[0].unionByName(exploded[1]).groupBy("w").agg(F.count(F.lit(1)).alias("n"))
    table = counts.orderBy(F.col("w").asc_nulls_first()).toArrow()
    found = table.column("w").combine_chunks().cast(pa.string())
    n = np.asarray(table.column("n").to_numpy(zero_copy_only=False), np.int64)
    is_word = np.asarray(pc.is_valid(found).to_numpy(zero_copy_only=False), bool)
    records = int(n[~is_word].sum())
    doc_freq = n[is_word]
    weight = frequency.word_weight(doc_freq, records)  # build_vocabulary's weights
    return WordWeights(found.filter(pa.array(is_word)), doc_freq, weight, records)
