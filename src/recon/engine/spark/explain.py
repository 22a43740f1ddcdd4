"""One_to_one pair explanations made in Spark by the engine's own code (recon.engine.explain.pair_json).

The driver sends the chosen pairs (two record numbers each) with what it alone knows of each pair (the
items' similarities, the compare outcomes, greedy assignments, date evidence, word weights and rivals:
numbers, flags and the texts made from the driver's word weights); Spark joins the pairs to the two sides
as it holds them (the relations `L` and `R`, only the columns the explanation shows) and runs pair_json in
`mapInArrow` over each batch; the driver collects one JSON text per pair and reads no value of the sides.
The values reach pair_json in the driver's own Arrow types (dates, which travel as day numbers, as dates
again), so the texts are byte for byte the driver's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pyarrow as pa

from recon.engine.arrays import IntArray
from recon.engine.errors import EngineError
from recon.engine.executor import ALIAS
from recon.engine.explain import PairFacts, PooledWords, pair_json, pooled_word_texts
from recon.engine.model import CompareItem, Condition, PassSpec, ScoreItem
from recon.engine.planner import ItemKey
from recon.engine.spark.grouped import quoted
from recon.engine.spark.weights import Shipped

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

ROW = "__i"
_NAMES = threading.Lock()
_made = [0]


class Sides(Protocol):
    """What this module needs of the Spark backend."""

    schemas: dict[str, pa.Schema]

    def frame(self, name: str) -> DataFrame: ...

    def stage(self, name: str, table: pa.Table) -> DataFrame: ...


def shown_columns(spec: PassSpec) -> dict[str, list[str]]:
    """The columns of each side a pair explanation shows (match, score and compare items), in order."""
    shown: dict[str, list[str]] = {"left": [], "right": []}
    items: list[Condition | ScoreItem | CompareItem] = [*spec.match, *spec.score, *spec.compare]
    for item in items:
        for side, column in (("left", item.left), ("right", item.right)):
            if column not in shown[side]:
                shown[side].append(column)
    return shown


def pair_explanations_in_spark(
    backend: Sides, spec: PassSpec, pairs: tuple[IntArray, IntArray], facts: PairFacts
) -> pa.Array:
    """pair_json of the pairs (left rid, right rid), in Spark over the sides Spark holds; in pair order."""
    from pyspark.sql import functions as F

    rows = len(pairs[0])
    if rows == 0:
        return pa.array([], pa.string())
    shown = shown_columns(spec)
    names = {(side, column): f"__v{side[0]}{k}" for side in shown for k, column in enumerate(shown[side])}
    types = {
        key: backend.schemas[ALIAS[key[0]]].field(key[1]).type for key in names
    }  # the driver's types: pair_json formats the values as the driver's path does
    table, layout = _facts_table(pairs, facts)
    with _NAMES:
        _made[0] += 1
        name = f"__ex{_made[0]}"
    joined = backend.stage(name, table)
    for side, rid in (("left", "__l"), ("right", "__r")):
        frame = backend.frame(ALIAS[side])
        columns = [F.col("__rid").alias(rid)]
        columns += [F.col(quoted(column)).alias(names[side, column]) for column in shown[side]]
        joined = joined.join(frame.select(*columns), rid)
    run = _explainer(spec, names, types, layout)
    made = joined.mapInArrow(run, f"{ROW} long, e string").toArrow()
    if made.num_rows != rows:
        raise EngineError(f"pass '{spec.name}': {made.num_rows} explanations made in Spark for {rows} pairs")
    order = np.argsort(np.asarray(made.column(ROW).to_numpy(), dtype=np.int64), kind="stable")
    return made.column("e").combine_chunks().take(pa.array(order))


# per weighted score item weighed in Spark: its columns, normalizers and the pass's vocabulary, shipped
Pooled = dict[int, tuple[str, str, tuple[str, ...], Shipped]]
Layout = tuple[list[ItemKey], list[ItemKey], list[int], bool, bool, Pooled]


def _facts_table(pairs: tuple[IntArray, IntArray], facts: PairFacts) -> tuple[pa.Table, Layout]:
    """The pairs and their facts as one table (columns by position: ItemKeys and words are named by their
    order in `layout`)."""
    sims, oks, words = list(facts.sims), list(facts.compare_ok), sorted(facts.words)
    columns: dict[str, Any] = {
        ROW: np.arange(len(pairs[0]), dtype=np.int64),
        "__l": pairs[0],
        "__r": pairs[1],
        "__greedy": facts.greedy,
    }
    columns.update({f"__s{k}": facts.sims[key] for k, key in enumerate(sims)})
    columns.update({f"__c{k}": facts.compare_ok[key] for k, key in enumerate(oks)})
    for item in words:
        columns[f"__wl{item}"], columns[f"__wr{item}"] = facts.words[item]
    if facts.date_bits is not None:
        columns["__dd"], columns["__db"], columns["__da"] = facts.date_bits
    if facts.rival is not None:
        columns["__rival"] = facts.rival
    pooled = {
        item: (words.left_column, words.right_column, words.normalize, Shipped.of(words.vocabulary))
        for item, words in facts.pooled.items()
    }
    layout = (sims, oks, words, facts.date_bits is not None, facts.rival is not None, pooled)
    return pa.table(columns), layout


def _explainer(
    spec: PassSpec,
    names: dict[tuple[str, str], str],
    types: dict[tuple[str, str], pa.DataType],
    layout: Layout,
) -> Any:
    """The function mapInArrow runs on each partition: pair_json per batch."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield explain_batch(spec, names, types, layout, pa.Table.from_batches([batch]))

    return run


def explain_batch(
    spec: PassSpec,
    names: dict[tuple[str, str], str],
    types: dict[tuple[str, str], pa.DataType],
    layout: Layout,
    table: pa.Table,
) -> pa.RecordBatch:
    """pair_json of one batch of joined pairs: the pairs' values from the joined columns, cast back to the
    driver's types; the facts from the pairs' own columns."""
    sims, oks, words, dated, rivals, pooled = layout

    def column(name: str) -> pa.Array:
        return table.column(name).combine_chunks()

    def numbers(name: str, kind: type) -> Any:
        return np.asarray(column(name).to_numpy(zero_copy_only=False), dtype=kind)

    def value(side: str, name: str) -> pa.Array:
        values = column(names[side, name])
        wanted = types[side, name]
        if pa.types.is_date(wanted) and pa.types.is_integer(values.type):
            values = values.cast(pa.int32())  # dates travel as day numbers
        return values if values.type == wanted else values.cast(wanted)

    texts = {item: (column(f"__wl{item}"), column(f"__wr{item}")) for item in words}
    for item, (left_column, right_column, normalizers, shipped) in pooled.items():
        # the word texts of items weighed in Spark: made here from the pairs' values, as the driver would
        vocabulary, index = shipped.vocabulary()
        made = PooledWords(left_column, right_column, normalizers, vocabulary)
        texts[item] = pooled_word_texts(made, value, index)
    facts = PairFacts(
        sims={key: numbers(f"__s{k}", np.float64) for k, key in enumerate(sims)},
        compare_ok={key: numbers(f"__c{k}", np.bool_) for k, key in enumerate(oks)},
        greedy=numbers("__greedy", np.bool_),
        words=texts,
        date_bits=(
            (numbers("__dd", np.int64), numbers("__db", np.float64), numbers("__da", np.float64))
            if dated
            else None
        ),
        rival=column("__rival") if rivals else None,
    )
    made = pair_json(spec, table.num_rows, value, facts)
    return pa.RecordBatch.from_arrays([column(ROW), made], names=[ROW, "e"])
