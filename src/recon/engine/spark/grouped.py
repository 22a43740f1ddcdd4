"""A grouped pass's explanations query (recon.engine.explain.group_outcomes: one DuckDB query writing JSON)
run where Spark holds the members.

The query's JSON texts are DuckDB's (json_object, its number and date formatting), which Spark SQL does not
reproduce; so the query itself runs, unchanged, in DuckDB inside Spark's Python workers: the relations it
reads are cut by group (`__fm`'s g: the members' records joined to their groups, `__gs` by its g), stacked
into one DataFrame, partitioned by group, and each partition runs the query over its own groups'
rows (mapInArrow). A group's rows all land in one partition, so each group's aggregates are the driver's;
the driver collects one row per group (g, ok, explanation) and no member's value.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

MEMBERS = "__fm"  # (g, side, rid): the groups' members
GROUP = "__g"
PART = "__t"


class Relations(Protocol):
    registered: dict[str, pa.Table]
    dates: set[str]

    def frame(self, name: str) -> DataFrame: ...


def by_group(backend: Relations, query: str, relations: list[str]) -> pa.Table | None:
    """The query's result (ordered by its g) computed per group in Spark; None when a relation cannot be
    cut by group (no `__rid` and no `g`), or the query reads no members."""
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    if MEMBERS not in relations or MEMBERS not in backend.registered:
        return None
    members = backend.frame(MEMBERS)
    pieces: list[DataFrame] = []
    kinds: list[tuple[str, bool]] = []  # (relation, cut by record)
    for k, name in enumerate(relations):
        frame = backend.frame(name)
        if name != MEMBERS and "__rid" in frame.columns:
            tags = members.select(F.col("g").alias(GROUP), F.col("rid").alias("__rid")).distinct()
            frame = frame.join(tags, "__rid")
            kinds.append((name, True))
        elif "g" in frame.columns:
            frame = frame.withColumn(GROUP, F.col("g"))
            kinds.append((name, False))
        else:
            return None
        columns = [F.col(GROUP), F.lit(k).alias(PART)]
        columns += [F.col(quoted(c)).alias(f"__{k}_{c}") for c in frame.columns if c != GROUP]
        pieces.append(frame.select(*columns))
    stacked = pieces[0]
    for piece in pieces[1:]:
        stacked = stacked.unionByName(piece, allowMissingColumns=True)
    schema = _result_schema(backend, query, relations)
    run = _runner(query, kinds, set(backend.dates), schema)
    made = stacked.repartition(GROUP).mapInArrow(run, from_arrow_schema(schema)).toArrow()
    made = pa.table(
        [column.cast(field.type) for field, column in zip(schema, made.columns, strict=True)], schema=schema
    )
    order = np.argsort(np.asarray(made.column("g").to_numpy(), dtype=np.int64), kind="stable")
    return made.take(pa.array(order))


def quoted(column: str) -> str:
    """A column name as PySpark's col() reads it literally (dots and spaces included)."""
    return "`" + column.replace("`", "``") + "`"


def _result_schema(backend: Relations, query: str, relations: list[str]) -> pa.Schema:
    """The query's result columns: the query run by DuckDB over empty tables of the relations' types."""
    import duckdb

    con = duckdb.connect(":memory:", config={"threads": 1})
    try:
        for name in relations:
            if name in backend.registered:
                table = backend.registered[name].slice(0, 0)
            else:
                table = _typed(backend.frame(name).limit(0).toArrow(), backend.dates)
            con.register(name, table)
        schema: pa.Schema = con.sql(query).to_arrow_table().schema
    finally:
        con.close()
    texts = (pa.types.is_string_view, pa.types.is_large_string)
    return pa.schema([f.with_type(pa.string()) if any(t(f.type) for t in texts) else f for f in schema])


def _runner(query: str, kinds: list[tuple[str, bool]], dates: set[str], schema: pa.Schema) -> Any:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        rows = list(batches)  # a partition without groups may have no batch at all
        table = pa.Table.from_batches(rows) if rows else None
        if table is not None and table.num_rows:
            yield from run_part(query, kinds, dates, table).cast(schema).to_batches()

    return run


def run_part(query: str, kinds: list[tuple[str, bool]], dates: set[str], stacked: pa.Table) -> pa.Table:
    """The query in DuckDB over one partition's rows: each relation's own rows (its records once each)."""
    import duckdb

    part = np.asarray(stacked.column(PART).to_numpy(zero_copy_only=False))
    con = duckdb.connect(":memory:", config={"threads": 1})
    try:
        for k, (name, by_record) in enumerate(kinds):
            prefix = f"__{k}_"
            rows = stacked.filter(pa.array(part == k))
            names = [c for c in stacked.column_names if c.startswith(prefix)]
            table = pa.table([rows.column(c) for c in names], names=[c[len(prefix) :] for c in names])
            if by_record:  # a record of two groups of the partition came twice
                _, first = np.unique(np.asarray(table.column("__rid").to_numpy()), return_index=True)
                table = table.take(pa.array(np.sort(first)))
            con.register(name, _typed(table, dates))
        result: pa.Table = con.sql(query).to_arrow_table()
    finally:
        con.close()
    return result


def _typed(table: pa.Table, dates: set[str]) -> pa.Table:
    """Day numbers back as dates (the Spark backend's date columns), as the driver registered them."""
    columns = [
        pc.cast(column.cast(pa.int32()), pa.date32())
        if field.name in dates and pa.types.is_integer(field.type)
        else column
        for field, column in zip(table.schema, table.columns, strict=True)
    ]
    return pa.table(columns, names=table.column_names)
