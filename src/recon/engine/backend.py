"""Execution backends: where the plan's SQL runs and where one_to_one assignments are solved.

The planner emits one plan in DuckDB's SQL dialect (recon.engine.planner, recon.engine.sql); a backend runs
it. `DuckDBBackend` (the default) runs it in an in-process DuckDB connection; `recon.engine.spark` runs the
same SQL, transpiled, on Apache Spark. Everything else about a reconcile (ids, normalisation, word weights,
margins, explanations, results and their checks) is shared.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import duckdb
import pyarrow as pa

from recon.engine.arrays import FloatArray, IntArray
from recon.engine.assign import Assignment, assign
from recon.engine.errors import InputError, QueryFailed
from recon.engine.margin import Rivals, find_rivals

if TYPE_CHECKING:
    from recon.engine.explain import PairFacts
    from recon.engine.frequency import Vocabulary
    from recon.engine.model import PassSpec
    from recon.engine.planner import Plan

BACKENDS = ("duckdb", "spark")


@dataclass(frozen=True)
class SideTotals:
    """What the results' exactly-once and control-totals checks need of one side, computed where the side
    is held (recon.engine.spark.checks): per status code (matched, suggested, break, unmatched) the
    records and the sum of the amount column; the output rows of the side's records (members of groups
    plus unmatched records); the records not present exactly once (in two groups, or a member no record
    of the side has)."""

    records: tuple[int, ...]
    listed: int
    not_once: int
    amounts: tuple[Any, ...] | None  # None: no summable amount column asked for
    total: Any  # the amount column's sum over the side (None when amounts is None)


@dataclass(frozen=True)
class HeldSide:
    """A side as a backend holds it, for Backend.totals: its relation (records by __rid) and the amount
    column to sum (None: none the backend may sum)."""

    relation: str
    amount: str | None


class Backend(Protocol):
    """What the engine needs from an execution backend."""

    name: str
    threads: int
    # token_set similarities (score items and match conditions) and word weights of a one_to_one pass
    # are computed where the pass tables are (token_set, word_vocabulary, weighted): the candidates
    # query then selects no operand texts for the driver
    scores_in_place: bool

    def check(self, plan: Plan) -> None:
        """Raise EngineError naming the first pass this backend cannot run (before any work is done)."""

    def run(self, query: str) -> None:
        """Execute a statement (DuckDB dialect), e.g. CREATE OR REPLACE TEMP VIEW|TABLE name AS SELECT ..."""

    def arrow(self, query: str) -> pa.Table:
        """The result of a query (DuckDB dialect) as an Arrow table."""

    def register(self, name: str, table: pa.Table) -> None:
        """Make an Arrow table queryable under `name` (replacing an earlier one)."""

    def unregister(self, name: str) -> None: ...

    def solve(
        self, left: IntArray, right: IntArray, score: FloatArray, margin: float
    ) -> tuple[Assignment, Rivals]:
        """One-to-one assignment of candidate edges (sorted by left, right) and the margin rule's rivals."""

    def totals(
        self, held: dict[str, HeldSide], members: Callable[[], pa.Table]
    ) -> dict[str, SideTotals] | None:
        """Both sides' totals (see SideTotals; by side name) over the sides in `held` and `members()`
        (side int8 0 left / 1 right, rid, status: one row per group member), in one job; None: the
        results compute them on the driver from the arrays they hold (members() is then not called)."""

    def token_set(
        self, relations: tuple[str, str], column: str, left: IntArray, right: IntArray
    ) -> FloatArray | None:
        """rapidfuzz's token_set_ratio (0..1) of the pairs (left[i], right[i]) of records (__rid) of the
        two relations, comparing their `column`, computed where the relations are; None: the engine
        reads the texts and computes it on the driver."""

    def word_vocabulary(self, relations: tuple[str, str], column: str) -> Vocabulary | None:
        """The word weights of the normalised texts `column` of the two relations' records
        (frequency.pooled_vocabulary: build_vocabulary's words, ids and weights, no record's words),
        counted where the relations are; None: the engine builds the vocabulary on the driver."""

    def weighted(
        self,
        relations: tuple[str, str],
        column: str,
        method: str,
        vocabulary: Vocabulary,
        pairs: tuple[IntArray, IntArray],
    ) -> tuple[FloatArray, FloatArray] | None:
        """frequency.weighted_similarity (weighted, plain) of the pairs (left rid, right rid) of the two
        relations' records, comparing their texts `column` under `vocabulary` (word_vocabulary's), computed
        where the relations are; None: computed on the driver."""

    def pair_explanations(
        self, spec: PassSpec, pairs: tuple[IntArray, IntArray], facts: PairFacts
    ) -> pa.Array | None:
        """The explanations of a one_to_one pass's chosen pairs (left rid, right rid) in pair order, made by
        recon.engine.explain.pair_json where the sides are held (their values joined to the pairs there);
        `facts`: what the driver knows of each pair. None: the driver reads the sides' values itself."""

    def derive(self, relation: str, alias: str, column: str, normalizers: tuple[str, ...]) -> bool:
        """Compute a normalised copy of `column` as `alias` of the side `relation` where the side is held
        (recon.engine.normalize's texts, every record), from now on and in every later register() of the
        relation; False: the engine normalises on the driver and registers the values itself."""

    def underive(self, relation: str, alias: str) -> None:
        """Stop adding `alias` to `relation` (the engine now holds its values, or dropped it)."""

    def close(self) -> None: ...


def solve_here(
    left: IntArray, right: IntArray, score: FloatArray, margin: float
) -> tuple[Assignment, Rivals]:
    chosen = assign(left, right, score)
    return chosen, find_rivals(left, right, score, chosen.edges, margin)


class DuckDBBackend:
    """One in-memory DuckDB connection; close() removes its spill directory."""

    name = "DuckDB"
    scores_in_place = False  # in process: the driver's threads compare the texts DuckDB hands over

    def __init__(self, memory_limit: str | None, temp_dir: str | None, threads: int | None) -> None:
        self.threads = threads or os.cpu_count() or 1
        self._own_temp = temp_dir is None
        self.temp_dir = temp_dir or tempfile.mkdtemp(prefix="recon-duckdb-")
        config: dict[str, Any] = {"threads": self.threads, "temp_directory": self.temp_dir}
        if memory_limit:
            config["memory_limit"] = memory_limit
        try:
            self.con = duckdb.connect(":memory:", config=config)
        except duckdb.Error as exc:
            raise InputError(
                f"cannot start DuckDB ({exc}); check memory_limit / temp_dir / threads"
            ) from None
        self.con.execute("SET preserve_insertion_order = false")

    def check(self, plan: Plan) -> None:
        return None

    def run(self, query: str) -> None:
        try:
            self.con.execute(query)
        except duckdb.Error as exc:
            raise query_failed(type(exc).__name__, str(exc)) from exc

    def arrow(self, query: str) -> pa.Table:
        try:
            return self.con.sql(query).to_arrow_table()
        except duckdb.Error as exc:
            raise query_failed(type(exc).__name__, str(exc)) from exc

    def register(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def unregister(self, name: str) -> None:
        self.con.unregister(name)

    def solve(
        self, left: IntArray, right: IntArray, score: FloatArray, margin: float
    ) -> tuple[Assignment, Rivals]:
        return solve_here(left, right, score, margin)

    def totals(
        self, held: dict[str, HeldSide], members: Callable[[], pa.Table]
    ) -> dict[str, SideTotals] | None:
        return None  # the driver holds the side and the results: numpy is faster than a query here

    def token_set(
        self, relations: tuple[str, str], column: str, left: IntArray, right: IntArray
    ) -> FloatArray | None:
        return None  # in process: the driver's threads compare the texts DuckDB hands over

    def word_vocabulary(self, relations: tuple[str, str], column: str) -> Vocabulary | None:
        return None  # the driver holds the sides' texts: it counts their words itself

    def weighted(
        self,
        relations: tuple[str, str],
        column: str,
        method: str,
        vocabulary: Vocabulary,
        pairs: tuple[IntArray, IntArray],
    ) -> tuple[FloatArray, FloatArray] | None:
        return None

    def pair_explanations(
        self, spec: PassSpec, pairs: tuple[IntArray, IntArray], facts: PairFacts
    ) -> pa.Array | None:
        return None  # the driver holds the sides: their columns are taken as they are

    def derive(self, relation: str, alias: str, column: str, normalizers: tuple[str, ...]) -> bool:
        return False  # the driver holds the sides: it normalises once, for the open records only

    def underive(self, relation: str, alias: str) -> None:
        return None

    def close(self) -> None:
        self.con.close()
        if self._own_temp:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


def query_failed(kind: str, detail: str) -> QueryFailed:
    """The kind of failure for users (e.g. ConversionException, OutOfMemoryException); the backend's text,
    which quotes the SQL, goes to the log."""
    logging.getLogger("recon.engine").warning("engine_query_failed: %s", detail)
    return QueryFailed(kind, detail)


def open_backend(
    name: str | Backend, memory_limit: str | None, temp_dir: str | None, threads: int | None
) -> Backend:
    """A backend by name ("duckdb", "spark"; spark uses recon.engine.spark.default_session()) or as given."""
    if not isinstance(name, str):
        return name
    if name == "duckdb":
        return DuckDBBackend(memory_limit, temp_dir, threads)
    if name == "spark":
        from recon.engine.spark import SparkBackend, default_session

        return SparkBackend(default_session())
    raise InputError(f"backend {name!r} is not one of {', '.join(BACKENDS)}")
