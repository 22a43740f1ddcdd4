"""DuckDB session of one reconcile: side tables in id order, duplicates, pass tables, candidate pairs."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process

from recon.engine import normalize, sql
from recon.engine.errors import EngineError, InputError
from recon.engine.planner import TOKEN_PAIR_LIMIT, PassPlan
from recon.engine.timing import stage

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ALIAS = {"left": "L", "right": "R"}
T = TypeVar("T")


def category(data_type: pa.DataType) -> str:
    if (
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_string_view(data_type)
    ):
        return sql.STRING
    if pa.types.is_decimal(data_type) or pa.types.is_integer(data_type) or pa.types.is_floating(data_type):
        return sql.NUMBER
    if pa.types.is_date(data_type):
        return sql.DATE
    if pa.types.is_timestamp(data_type):
        return sql.TIMESTAMP
    return sql.OTHER


@dataclass
class Side:
    """One input side; row i of `table` is the record with __rid i (rows sorted by id as text)."""

    name: str
    table: pa.Table
    ids: pa.Array
    id_column: str

    @property
    def n(self) -> int:
        return int(self.table.num_rows)

    def categories(self) -> dict[str, str]:
        return {f.name: category(f.type) for f in self.table.schema}


def order_by_id(name: str, table: pa.Table, id_column: str) -> Side:
    """Sort records by id (text) so that record order never depends on file order; ids must be unique."""
    ids = pc.cast(table.column(id_column).combine_chunks(), pa.string())  # ids are compared as text
    if ids.null_count:
        row = pc.index(pc.is_null(ids), True).as_py() + 1
        raise InputError(f"{name}: record {row} has no value in id column '{id_column}'")
    if len(ids) > 1 and not pc.all(pc.greater(ids[1:], ids[:-1])).as_py():
        order = pc.sort_indices(ids)
        table, ids = table.take(order), ids.take(order)
        same = pc.equal(ids[1:], ids[:-1])
        if pc.any(same).as_py():
            duplicate = ids[pc.index(same, True).as_py()].as_py()
            raise InputError(f"{name}: id '{duplicate}' occurs more than once in column '{id_column}'")
    return Side(name, table, ids, id_column)


@dataclass
class PairCandidates:
    """Candidate pairs of a pass after every condition, with their scores (sorted by left, right)."""

    left: IntArray
    right: IntArray
    score: FloatArray
    compare_ok: BoolArray
    sims: dict[str, FloatArray] = field(default_factory=dict)  # "score<i>" / "check<i>" similarities
    compares: dict[str, BoolArray] = field(default_factory=dict)  # "compare<i>" outcome per item
    extra: dict[str, npt.NDArray[Any]] = field(default_factory=dict)
    below_left: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))  # had candidates, all < min
    below_right: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    below_best_left: FloatArray = field(default_factory=lambda: np.zeros(0))
    below_best_right: FloatArray = field(default_factory=lambda: np.zeros(0))

    def subset(self, keep: BoolArray) -> PairCandidates:
        return PairCandidates(
            self.left[keep],
            self.right[keep],
            self.score[keep],
            self.compare_ok[keep],
            {k: v[keep] for k, v in self.sims.items()},
            {k: v[keep] for k, v in self.compares.items()},
            {k: v[keep] for k, v in self.extra.items()},
        )


class Session:
    """One in-memory DuckDB connection; closed (and its spill directory removed) by close()."""

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
        self.sides: dict[str, Side] = {}
        self.derived: dict[tuple[str, str, tuple[str, ...]], str] = {}
        self.extra: dict[str, dict[str, pa.Array]] = {"left": {}, "right": {}}
        self.columns: dict[tuple[str, str], pa.Array] = {}
        self._columns_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def background(self, work: Callable[[], T]) -> Future[T]:
        """Run Arrow/numpy-only work (never DuckDB) beside the next pass: both release the GIL."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recon-explain")
        return self._pool.submit(work)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self.con.close()
        if self._own_temp:
            shutil.rmtree(self.temp_dir, ignore_errors=True)

    def run(self, query: str) -> None:
        try:
            with stage(query.split(" AS ", maxsplit=1)[0][:40]):
                self.con.execute(query)
        except duckdb.Error as exc:
            raise EngineError(f"DuckDB failed: {exc}") from exc

    def arrow(self, query: str) -> pa.Table:
        try:
            with stage("query " + " ".join(query.split())[:34]):
                return self.con.sql(query).to_arrow_table()
        except duckdb.Error as exc:
            raise EngineError(f"DuckDB failed: {exc}") from exc

    def register(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def add_side(self, side: Side) -> None:
        self.sides[side.name] = side
        self.publish(side.name)

    def publish(self, name: str) -> None:
        """(Re)register a side with its record index and derived columns."""
        side = self.sides[name]
        table = side.table.append_column("__rid", pa.array(np.arange(side.n, dtype=np.int64)))
        for alias, values in self.extra[name].items():
            table = table.append_column(alias, values)
        self.register(ALIAS[name], table)

    def column(self, side: str, column: str) -> pa.Array:
        """A side's column as one contiguous array (kept for repeated takes)."""
        key = (side, column)
        with self._columns_lock:
            if key not in self.columns:
                self.columns[key] = self.sides[side].table.column(column).combine_chunks()
            return self.columns[key]

    def derive(self, side: str, column: str, normalizers: tuple[str, ...]) -> str:
        """Name of a normalized text column of a side, computed once (see recon.engine.normalize)."""
        key = (side, column, normalizers)
        if key not in self.derived:
            alias = f"__t{len(self.derived)}"
            with stage(f"normalize {side}.{column} {'/'.join(normalizers)}"):
                self.extra[side][alias] = normalize.apply(self.column(side, column), normalizers)
            self.derived[key] = alias
        return self.derived[key]

    def duplicates(self, side: Side) -> tuple[IntArray, IntArray]:
        """(rid, first rid) of records identical to a lower-id record on every column but the id."""
        columns = [sql.quote(c) for c in side.table.column_names if c != side.id_column]
        if not columns or side.n < 2:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        src = ALIAS[side.name]
        cols = ", ".join(columns)
        query = f"""
            WITH hashed AS (SELECT __rid, hash({cols}) AS h FROM {src}),
            shared AS (SELECT h FROM hashed GROUP BY h HAVING count(*) > 1),
            suspects AS (SELECT * FROM {src} WHERE __rid IN (
                SELECT __rid FROM hashed WHERE h IN (SELECT h FROM shared))),
            firsts AS (SELECT __rid, min(__rid) OVER (PARTITION BY {cols}) AS first FROM suspects)
            SELECT __rid, first FROM firsts WHERE __rid <> first ORDER BY __rid"""
        result = self.arrow(query)
        return _ints(result, "__rid"), _ints(result, "first")

    def pass_table(self, name: str, side: str, plan: PassPlan, rids: IntArray, band_role: str | None) -> str:
        """The available records of a side with the columns the pass needs.

        one_to_one passes read it once: a view. Grouped passes read it repeatedly (and need the input
        columns for grouping and explanations): a table."""
        grouped = plan.spec.kind != "one_to_one"
        columns = dict(plan.columns[side])
        if band_role and plan.band is not None and plan.band_source != "sum":
            value = plan.columns[side][f"__m{plan.band_source}"]
            columns.update(band_columns(plan, value, band_role))
        elif band_role and plan.band is not None and side not in plan.spec.many_sides:
            columns.update(band_columns(plan, plan.columns[side]["__sv"], band_role))
        raw = "".join(f", {sql.quote(c)}" for c in plan.raw[side]) if grouped else ""
        derived = "".join(f", {expr} AS {sql.quote(alias)}" for alias, expr in columns.items())
        where = ""
        if len(rids) < self.sides[side].n:
            self.register(f"{name}_avail", pa.table({"__rid": rids}))
            where = f" WHERE __rid IN (SELECT __rid FROM {name}_avail)"
        kind, relation = ("TABLE", name) if grouped else ("VIEW", f"{name}_view")
        select = f"SELECT __rid{raw}{derived} FROM {ALIAS[side]}{where}"
        self.run(f"CREATE OR REPLACE TEMP {kind} {relation} AS {select}")
        return relation

    def pair_candidates(
        self, plan: PassPlan, left: str, right: str, extra: dict[str, str] | None = None
    ) -> PairCandidates:
        """Candidates of a pass between two pass tables, every condition applied, scored (see rules doc)."""
        select = ["l.__rid AS lr", "r.__rid AS rr"]
        for part in plan.scores:
            if part.sql is not None:
                select.append(f"{part.sql} AS __sim{part.index}")
            else:
                select += [f"l.{part.left} AS __ls{part.index}", f"r.{part.right} AS __rs{part.index}"]
        for check in plan.checks:
            if check.method and check.sql is None:
                select += [f"{check.left} AS __lc{check.index}", f"{check.right} AS __rc{check.index}"]
            elif check.method:
                select.append(
                    f"{sql.similarity(check.method, check.left, check.right)} AS __csim{check.index}"
                )
        if not plan.scores:
            select.append(f"{sql.mean(plan.closeness)} AS __close")
        select += [f"{check.sql} AS __cmp{check.index}" for check in plan.compares]
        select += [f"{expr} AS {alias}" for alias, expr in (extra or {}).items()]
        key_labels = {label for _, _, label in plan.keys}
        where = [c.sql for c in plan.checks if c.sql is not None and c.label not in key_labels] or ["true"]
        query = (
            f"SELECT {', '.join(select)} FROM {join_clause(plan, left, right)} WHERE {' AND '.join(where)}"
        )
        table = self.arrow(query + " ORDER BY lr, rr")
        ok = np.ones(table.num_rows, bool)
        sims: dict[str, FloatArray] = {}
        for check in plan.checks:
            if check.method and check.sql is None:
                sim = self.token_set(table, f"__lc{check.index}", f"__rc{check.index}")
                ok &= sim >= check.minimum - 1e-12
                sims[f"check{check.index}"] = sim
            elif check.method:
                sims[f"check{check.index}"] = _floats(table, f"__csim{check.index}")
        if plan.scores:
            total = np.zeros(table.num_rows)
            for part in plan.scores:
                if part.sql is not None:
                    sim = _floats(table, f"__sim{part.index}")
                else:
                    sim = self.token_set(table, f"__ls{part.index}", f"__rs{part.index}")
                sims[f"score{part.index}"] = sim
                total += part.weight * sim
            score = total / sum(part.weight for part in plan.scores)
        else:
            score = _floats(table, "__close")
        compares = {f"compare{c.index}": _bools(table, f"__cmp{c.index}") for c in plan.compares}
        compare_ok = np.ones(table.num_rows, bool)
        for values in compares.values():
            compare_ok &= values
        result = PairCandidates(_ints(table, "lr"), _ints(table, "rr"), score, compare_ok, sims, compares)
        result.extra = {alias: table.column(alias).to_numpy(zero_copy_only=False) for alias in (extra or {})}
        result = result.subset(ok)
        if plan.spec.min_score is not None:
            result = apply_min_score(result, plan.spec.min_score)
        return result

    def token_set(self, table: pa.Table, left: str, right: str) -> FloatArray:
        lefts = table.column(left).to_pylist()
        rights = table.column(right).to_pylist()
        workers = self.threads if len(lefts) > 50_000 else 1
        sims = process.cpdist(lefts, rights, scorer=fuzz.token_set_ratio, workers=workers, dtype=np.float64)
        return np.asarray(sims, dtype=np.float64) / 100.0


def band_columns(plan: PassPlan, value: str, role: str) -> dict[str, str]:
    """Bucket columns of the band: the probing (left) side gets a bucket range, the other side one bucket."""
    band = plan.band
    assert band is not None
    columns = (
        {"__blo": band.low(value), "__bhi": band.high(value)}
        if role == "probe"
        else {"__b": band.bucket(value)}
    )
    sign = band.sign(value)
    if sign is not None:
        columns["__bsg"] = sign
    return columns


def join_clause(plan: PassPlan, left: str, right: str) -> str:
    """FROM clause joining two node tables (l, r) on the pass's blocking keys."""
    on = [f"l.{la} = r.{ra}" for la, ra, _ in plan.keys]
    source = left
    if plan.band is not None:
        source = f"(SELECT *, unnest(range(__blo, __bhi + 1)) AS __bk FROM {left})"
        on.append("l.__bk = r.__b")
        if plan.band.kind == "pct":
            on.append("l.__bsg = r.__bsg")
    if on:
        return f"{source} l JOIN {right} r ON {' AND '.join(on)}"
    if plan.tokens is None:
        raise EngineError(f"pass '{plan.name}' has no blocking key")
    la, ra, _ = plan.tokens
    split = r"'[^\p{L}\p{N}]+'"
    pairs = f"""(
        WITH lt AS (SELECT DISTINCT __rid, tok FROM (SELECT __rid,
                    unnest(string_split_regex(upper({la}), {split})) AS tok FROM {left}) WHERE tok <> ''),
        rt AS (SELECT DISTINCT __rid, tok FROM (SELECT __rid,
                    unnest(string_split_regex(upper({ra}), {split})) AS tok FROM {right}) WHERE tok <> ''),
        usable AS (SELECT a.tok FROM (SELECT tok, count(*) AS n FROM lt GROUP BY tok) a
                   JOIN (SELECT tok, count(*) AS n FROM rt GROUP BY tok) b ON a.tok = b.tok
                   WHERE a.n * b.n <= {TOKEN_PAIR_LIMIT})
        SELECT DISTINCT lt.__rid AS __lr, rt.__rid AS __rr FROM lt JOIN rt ON lt.tok = rt.tok
        WHERE lt.tok IN (SELECT tok FROM usable))"""
    return f"{pairs} p JOIN {left} l ON l.__rid = p.__lr JOIN {right} r ON r.__rid = p.__rr"


def apply_min_score(candidates: PairCandidates, min_score: float) -> PairCandidates:
    """Drop candidates scoring below min_score, remembering nodes that only had such candidates."""
    keep = candidates.score >= min_score - 1e-12
    result = candidates.subset(keep)
    for side, nodes in (("left", candidates.left), ("right", candidates.right)):
        if len(nodes) == 0:
            continue
        best = np.full(int(nodes.max()) + 1, -np.inf)  # node ids are record indexes (dense)
        np.maximum.at(best, nodes, candidates.score)
        kept = np.zeros(len(best), bool)
        kept[nodes[keep]] = True
        below = np.flatnonzero(np.isfinite(best) & ~kept)
        setattr(result, f"below_{side}", below.astype(np.int64))
        setattr(result, f"below_best_{side}", best[below])
    return result


def _ints(table: pa.Table, column: str) -> IntArray:
    return np.asarray(table.column(column).to_numpy(zero_copy_only=False), dtype=np.int64)


def _bools(table: pa.Table, column: str) -> BoolArray:
    values = table.column(column).fill_null(False)
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)


def _floats(table: pa.Table, column: str) -> FloatArray:
    values = table.column(column).cast(pa.float64()).fill_null(0.0)
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)


__all__ = ["PairCandidates", "Session", "Side", "order_by_id"]
