"""SparkBackend: the plan's SQL (transpiled, recon.engine.spark.dialect) on a Spark session."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from recon.engine.arrays import FloatArray, IntArray
from recon.engine.assign import Assignment
from recon.engine.backend import HeldSide, SideTotals, query_failed, solve_here
from recon.engine.errors import EngineError
from recon.engine.margin import Rivals
from recon.engine.spark.checks import held_totals
from recon.engine.spark.classic import is_classic
from recon.engine.spark.components import solve_in_spark
from recon.engine.spark.dialect import JARO_WINKLER_UDF, builds_json, relations_of, select_of, to_spark
from recon.engine.spark.explain import pair_explanations_in_spark
from recon.engine.spark.grouped import by_group
from recon.engine.spark.scores import TOKEN_SET_UDF, token_set, token_set_in_spark
from recon.engine.spark.sides import derive as derive_column
from recon.engine.spark.sides import in_sql
from recon.engine.spark.weights import weighted_in_spark, word_vocabulary

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from recon.engine.explain import PairFacts
    from recon.engine.frequency import Vocabulary
    from recon.engine.model import PassSpec
    from recon.engine.planner import Plan

SUPPORTED_KINDS = ("one_to_one", "many_to_one", "one_to_many", "many_to_many")
# Candidate sets up to this many edges are solved on the driver, which holds them already (scipy solves a
# million edges in about a second); larger ones in Spark, per batch of connected components.
DRIVER_EDGES = 1_000_000
# local sessions: few shuffle partitions (the default 200 costs seconds per pass on small data)
LOCAL_CONFIG = {
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",  # DuckDB's NULL-on-failure casts
    "spark.driver.memory": "4g",
}


def spark_session(master: str | None = None, config: dict[str, str] | None = None) -> SparkSession:
    """A Spark session: `master` local[*] (default, or RECON_SPARK_MASTER), a cluster URL, a Spark
    Connect URL `sc://host:port`, or `connect:local[N]`: a Spark Connect server started by PySpark in this
    process (the connect jar ships with PySpark) and a Connect client to it, which is how a Connect run is
    tested on one machine; under spark-submit the submitted session is reused."""
    from pyspark.sql import SparkSession

    master = master or os.environ.get("RECON_SPARK_MASTER") or "local[*]"
    settings = {**LOCAL_CONFIG, **(config or {})}
    builder: Any = SparkSession.builder.appName("recon")
    if master.startswith("sc://"):
        builder = builder.remote(master)
        settings = {k: v for k, v in settings.items() if k.startswith("spark.sql.")}
    elif master.startswith(CONNECT_LOCAL):
        # the local server's start takes every setting (the UI, the driver's memory); afterwards PySpark
        # keeps only the runtime ones for the client
        builder = builder.remote(master.removeprefix(CONNECT_LOCAL))
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    else:
        builder = builder.master(master)
        if master.startswith("local"):
            # the Python workers are this interpreter (recon's UDFs import recon); a cluster's executors
            # need recon[engine] installed (docs/scaling.md)
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    for key, value in settings.items():
        builder = builder.config(key, value)
    session: SparkSession = builder.getOrCreate()
    if is_classic(session):
        session.sparkContext.setLogLevel(os.environ.get("RECON_SPARK_LOG_LEVEL", "ERROR"))
    return session


CONNECT_LOCAL = "connect:"  # `connect:local[2]`: a local Spark Connect server and a client to it

_DEFAULT: SparkSession | None = None


def default_session() -> SparkSession:
    """The process's Spark session, started on first use and kept (starting Spark takes seconds)."""
    global _DEFAULT  # noqa: PLW0603 (one JVM per process)
    if _DEFAULT is None:
        _DEFAULT = spark_session()
    return _DEFAULT


@contextmanager
def spark_failures() -> Iterator[None]:
    """Spark's errors (the JVM's and the Python workers' come as several pyspark classes) as the engine's
    QueryFailed; the engine's own errors pass as they are."""
    try:
        yield
    except EngineError:
        raise
    except Exception as exc:
        raise query_failed(type(exc).__name__, str(exc)) from exc


class SparkBackend:
    """Runs the plan's SQL on Spark (every pass kind: one_to_one and the grouped kinds); one_to_one
    assignments above `driver_edges` candidate edges are solved in Spark, per connected component; a query
    that writes JSON (a grouped pass's explanations) runs in DuckDB inside Spark, per partition of groups
    (spark.grouped), or, when its relations cannot be cut by group, in DuckDB on the driver over the rows
    it needs.

    Dates travel as day numbers (see recon.engine.spark.dialect); relations are temp views of this backend
    (dropped by close()); a `CREATE TEMP TABLE` of the plan is a checkpointed view."""

    name = "Spark"
    scores_in_place = (
        True  # token_set and word weights: pandas UDFs of the engine's code (spark.scores, weights)
    )

    def __init__(
        self, spark: SparkSession, driver_edges: int = DRIVER_EDGES, stage_dir: str | None = None
    ) -> None:
        self.spark = spark
        self.driver_edges = driver_edges
        self.threads = max(1, int(spark.sparkContext.defaultParallelism)) if is_classic(spark) else 1
        self.views: set[str] = set()
        self.registered: dict[str, pa.Table] = {}
        self.schemas: dict[str, pa.Schema] = {}  # of every registered table, as the engine gave it
        # per relation: derived columns Spark adds (alias -> column, normalizers; see derive)
        self.derivations: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {}
        self.dates: set[str] = set()  # names of date columns (day numbers in Spark)
        self.staging = Staging(stage_dir) if stage_dir or _local(spark) else None
        self._register_udfs()

    def check(self, plan: Plan) -> None:
        for pass_plan in plan.passes:
            spec = pass_plan.spec
            if spec.kind not in SUPPORTED_KINDS:
                raise EngineError(
                    f"pass '{spec.name}' ({spec.kind}): the Spark backend does not run {spec.kind} passes "
                    "yet; run this rule set on the DuckDB backend"
                )

    def run(self, query: str) -> None:
        name, select, table = select_of(query)
        if name is None:
            raise EngineError(
                f"the Spark backend runs CREATE TEMP VIEW|TABLE ... AS SELECT, not: {query[:60]}"
            )
        frame = self._sql(select)
        if table:
            frame = frame.localCheckpoint() if is_classic(self.spark) else frame.cache()
        self._view(name, frame)

    def arrow(self, query: str) -> pa.Table:
        if builds_json(query):
            with spark_failures():
                made = by_group(self, query, relations_of(query))
            return self._on_driver(query) if made is None else made
        frame = self._sql(to_spark(query))
        with spark_failures():
            table: pa.Table = frame.toArrow()
        return table

    def register(self, name: str, table: pa.Table) -> None:
        """A side with derived columns made in Spark (derive) is not kept in `registered`: the Arrow table
        lacks them, so a query on the driver reads the relation from Spark."""
        derived = {a: d for a, d in self.derivations.get(name, {}).items() if a not in table.column_names}
        self.schemas[name] = table.schema
        if derived:
            self.registered.pop(name, None)
        else:
            self.registered[name] = table
        self.dates.update(field.name for field in table.schema if pa.types.is_date(field.type))
        if self.staging is None:
            frame = self.spark.createDataFrame(spark_ready(table))
        else:
            # Parquet has one string type: large strings are written as they are, without a copy
            path = self.staging.write(name, spark_ready(table, keep_large_strings=True))
            frame = self.spark.read.parquet(path)
        for alias, (column, normalizers) in derived.items():
            frame = derive_column(frame, column, normalizers, alias)
        if any(not in_sql(normalizers) for _, normalizers in derived.values()):
            frame = self._kept(name, frame)  # a Python UDF: made once, not in every query
        self._view(name, frame)

    def _kept(self, name: str, frame: DataFrame) -> DataFrame:
        """A side with derived columns made once (every query reading a view of UDF columns would run
        the UDF again): written by Spark to the staging folder and read back, else checkpointed."""
        if self.staging is not None:
            path = self.staging.folder_for(f"{name}-derived")
            frame.write.parquet(path)
            return self.spark.read.parquet(path)
        return frame.localCheckpoint() if is_classic(self.spark) else frame.cache()

    def derive(self, relation: str, alias: str, column: str, normalizers: tuple[str, ...]) -> bool:
        """Normalised texts made by the executors (spark.sides: a pandas UDF running
        recon.engine.normalize), added to the relation at its next register(): the driver neither
        computes nor holds them."""
        self.derivations.setdefault(relation, {})[alias] = (column, tuple(normalizers))
        return True

    def underive(self, relation: str, alias: str) -> None:
        self.derivations.get(relation, {}).pop(alias, None)

    def unregister(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)
        self.views.discard(name)
        self.registered.pop(name, None)
        self.schemas.pop(name, None)

    def _on_driver(self, query: str) -> pa.Table:
        """A query that writes JSON texts (a grouped pass's explanations: DuckDB's json_object, number and
        date formatting) runs in DuckDB on the driver, as the one_to_one explanations are built there: the
        Arrow tables registered by the engine are used as they are; a Spark relation is collected with only
        the rows of the records named in `__fm` (the members of the pass's groups) when it has `__rid`,
        its day numbers back as dates."""
        import duckdb

        con = duckdb.connect(":memory:", config={"threads": 1})
        try:
            for name in relations_of(query):
                if name in self.registered:
                    con.register(name, self.registered[name])
                    continue
                frame = self._sql(f"SELECT * FROM {name}")
                if "__fm" in self.registered and "__rid" in frame.columns:
                    frame = frame.join(
                        self._sql("SELECT DISTINCT rid AS __rid FROM __fm"), "__rid", "leftsemi"
                    )
                with spark_failures():
                    con.register(name, self._dates_back(frame.toArrow()))
            try:
                return con.sql(query).to_arrow_table()
            except duckdb.Error as exc:
                raise query_failed(type(exc).__name__, str(exc)) from exc
        finally:
            con.close()

    def _dates_back(self, table: pa.Table) -> pa.Table:
        columns = [
            column.cast(pa.int32()).cast(pa.date32())
            if field.name in self.dates and pa.types.is_integer(field.type)
            else column
            for field, column in zip(table.schema, table.columns, strict=True)
        ]
        return pa.table(columns, names=table.column_names)

    def solve(
        self, left: IntArray, right: IntArray, score: FloatArray, margin: float
    ) -> tuple[Assignment, Rivals]:
        if len(left) <= self.driver_edges:
            return solve_here(left, right, score, margin)
        return solve_in_spark(self.spark, left, right, score, margin)

    def totals(
        self, held: dict[str, HeldSide], members: Callable[[], pa.Table]
    ) -> dict[str, SideTotals] | None:
        """The results' checks and control totals of both sides as Spark holds them, in one Spark job
        (spark.checks)."""
        return held_totals(self, held, members())

    def token_set(
        self, relations: tuple[str, str], column: str, left: IntArray, right: IntArray
    ) -> FloatArray | None:
        """Score pairs in Spark by the driver's token_set code in a pandas UDF (spark.scores)."""
        return token_set_in_spark(self, relations, column, left, right)

    def word_vocabulary(self, relations: tuple[str, str], column: str) -> Vocabulary | None:
        """The word weights of the relations' texts counted in one Spark job (spark.weights)."""
        with spark_failures():
            vocabulary = word_vocabulary(self, relations, column)
        return vocabulary

    def weighted(
        self,
        relations: tuple[str, str],
        column: str,
        method: str,
        vocabulary: Vocabulary,
        pairs: tuple[IntArray, IntArray],
    ) -> tuple[FloatArray, FloatArray] | None:
        """Weighted similarities of pairs in Spark by the engine's code in a pandas UDF (spark.weights)."""
        with spark_failures():
            scores = weighted_in_spark(self, relations, column, method, vocabulary, pairs=pairs)
        return scores

    def pair_explanations(
        self, spec: PassSpec, pairs: tuple[IntArray, IntArray], facts: PairFacts
    ) -> pa.Array | None:
        """A one_to_one pass's pair explanations made in Spark by the driver's code (spark.explain)."""
        return pair_explanations_in_spark(self, spec, pairs, facts)

    def frame(self, name: str) -> DataFrame:
        """A relation of this backend as a DataFrame (bound to the relation as it is now)."""
        with spark_failures():
            frame = self.spark.table(name)
        return frame

    def stage(self, name: str, table: pa.Table) -> DataFrame:
        """An Arrow table as a DataFrame without a view (safe beside the engine's next pass: the pair
        explanations are made in a background thread): staged as Parquet like register()."""
        if self.staging is None:
            return self.spark.createDataFrame(spark_ready(table))
        return self.spark.read.parquet(self.staging.write(name, spark_ready(table, keep_large_strings=True)))

    def close(self) -> None:
        for name in sorted(self.views):
            self.spark.catalog.dropTempView(name)
        self.views.clear()
        if self.staging is not None:
            self.staging.remove()

    def _sql(self, query: str) -> DataFrame:
        with spark_failures():
            frame = self.spark.sql(query)
        return frame

    def _view(self, name: str, frame: DataFrame) -> None:
        frame.createOrReplaceTempView(name)
        self.views.add(name)

    def _register_udfs(self) -> None:
        from pyspark.sql.functions import pandas_udf

        self.spark.udf.register(JARO_WINKLER_UDF, pandas_udf(jaro_winkler, "double"))
        self.spark.udf.register(TOKEN_SET_UDF, pandas_udf(token_set, "double"))


class Staging:
    """Parquet files through which registered Arrow tables reach Spark: `createDataFrame` of an Arrow table
    copies every batch into the JVM's heap and keeps it there as long as the view (or a plan built on it)
    lives, a second copy of both sides beside the driver's; a Parquet file costs the driver one write and
    the JVM only what a query reads. Files are kept until close(): temp views made from an earlier
    version of a relation may still read it.

    An own folder is named after this process (`recon-spark-<pid>-...` in the temp directory): a killed run
    cannot remove its folder, so each new own staging first removes the folders of processes that no
    longer run (remove_stale)."""

    def __init__(self, folder: str | None) -> None:
        self.own = folder is None
        if self.own:
            remove_stale(tempfile.gettempdir())
        self.folder = folder or tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-")
        self.written = 0
        self._lock = threading.Lock()  # the pair explanations stage tables from a background thread

    def write(self, name: str, table: pa.Table) -> str:
        with self._lock:
            self.written += 1
            # Spark skips files whose names start with "_" or "." (hidden): the count comes first
            path = os.path.join(self.folder, f"{self.written}-{name}.parquet")
        pq.write_table(table, path, row_group_size=ROW_GROUP_ROWS)
        return path

    def folder_for(self, name: str) -> str:
        """A path in the staging folder for Spark to write a table into (numbered as write() numbers)."""
        with self._lock:
            self.written += 1
            return os.path.join(self.folder, f"{self.written}-{name}")

    def remove(self) -> None:
        if self.own:
            shutil.rmtree(self.folder, ignore_errors=True)


ROW_GROUP_ROWS = 256 * 1024  # row groups are Spark's unit of parallel reading
STAGING_PREFIX = "recon-spark-"
_STAGING = re.compile(rf"^{STAGING_PREFIX}(\d+)-")


def remove_stale(parent: str) -> list[str]:
    """Remove the staging folders in `parent` whose process (the pid in the name) no longer runs; the
    removed paths. A folder of a running process, or one without a pid, is left alone."""
    removed: list[str] = []
    try:
        names = os.listdir(parent)
    except OSError:
        return removed
    for name in names:
        found = _STAGING.match(name)
        path = os.path.join(parent, name)
        if found is None or not os.path.isdir(path) or _alive(int(found.group(1))):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _local(spark: Any) -> bool:
    """A classic session with a `local` master: its JVM reads files written here (a Spark Connect server
    may run elsewhere, even with a local master of its own: its tables are still sent as Arrow)."""
    return is_classic(spark) and str(spark.sparkContext.master).startswith("local")


def jaro_winkler(left: pd.Series, right: pd.Series) -> pd.Series:
    """DuckDB's jaro_winkler_similarity (rapidfuzz's Jaro-Winkler, prefix weight 0.1) over two pandas
    Series, vectorised (rapidfuzz cpdist); NULL when either side is NULL."""
    from rapidfuzz import process
    from rapidfuzz.distance import JaroWinkler

    both = (left.notna() & right.notna()).to_numpy()
    values = np.full(len(left), np.nan)
    if both.any():
        values[both] = process.cpdist(
            left[both].tolist(),
            right[both].tolist(),
            scorer=JaroWinkler.normalized_similarity,
            workers=1,
            dtype=np.float64,
        )
    return pd.Series(values).where(both, None)


def spark_ready(table: pa.Table, keep_large_strings: bool = False) -> pa.Table:
    """Dates as day numbers (int32), texts as plain strings (Spark reads no string views; large strings
    are kept when asked: Parquet files store them as any string)."""
    columns = []
    for column in table.columns:
        kind = column.type
        if pa.types.is_date(kind):
            columns.append(pc.cast(column, pa.date32()).cast(pa.int32()))
        elif pa.types.is_string_view(kind) or (pa.types.is_large_string(kind) and not keep_large_strings):
            columns.append(pc.cast(column, pa.string()))
        else:
            columns.append(column)
    return pa.table(columns, names=table.column_names)
