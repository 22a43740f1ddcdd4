"""Candidate scores computed in Spark by the engine's own Python code, run in a pandas UDF.

A score item Spark SQL cannot compute (rapidfuzz's token_set_ratio: DuckDB has none either) is computed
on the driver over texts it reads from the pass tables. On Spark the driver hands over only the pairs
(two record numbers each); a pandas UDF running recon.engine.executor.token_set_ratios (the driver's code,
not a copy) compares the texts where the pass tables are, and the driver collects one number per pair.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from recon.engine import sql
from recon.engine.arrays import FloatArray, IntArray
from recon.engine.executor import token_set_ratios

TOKEN_SET_UDF = "recon_token_set"  # noqa: S105 (a function name, not a secret)
PAIRS = "__ts_pairs"


class Queries(Protocol):
    def register(self, name: str, table: pa.Table) -> None: ...

    def unregister(self, name: str) -> None: ...

    def arrow(self, query: str) -> pa.Table: ...


def token_set(left: pd.Series, right: pd.Series) -> pd.Series:
    """The UDF: token_set_ratios over two pandas Series of texts (a missing text as None, as the driver
    reads it from Arrow)."""
    return pd.Series(token_set_ratios(_texts(left), _texts(right)))


def _texts(values: pd.Series) -> list[Any]:
    return [None if pd.isna(value) else value for value in values]


def token_set_in_spark(
    backend: Queries, relations: tuple[str, str], column: str, left: IntArray, right: IntArray
) -> FloatArray:
    """token_set_ratios of the pairs (left[i], right[i]) of the relations' records (__rid), in Spark."""
    sims = np.zeros(len(left))
    if len(left) == 0:
        return sims
    backend.register(PAIRS, pa.table({"i": np.arange(len(left), dtype=np.int64), "l": left, "r": right}))
    value = sql.quote(column)
    query = (
        f"SELECT p.i AS i, {TOKEN_SET_UDF}(a.{value}, b.{value}) AS s FROM {PAIRS} p "
        f"JOIN {relations[0]} a ON a.__rid = p.l JOIN {relations[1]} b ON b.__rid = p.r"
    )
    try:
        table = backend.arrow(query)
    finally:
        backend.unregister(PAIRS)
    positions = np.asarray(table.column("i").to_numpy(zero_copy_only=False), dtype=np.int64)
    sims[positions] = np.asarray(table.column("s").to_numpy(zero_copy_only=False), dtype=np.float64)
    return sims
