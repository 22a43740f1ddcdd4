"""DuckDB session of one reconcile: side tables in id order, duplicates, pass tables, candidate pairs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process

from recon.engine import calendar, frequency, normalize, sql
from recon.engine.arrays import BoolArray, FloatArray, IntArray
from recon.engine.backend import Backend, DuckDBBackend
from recon.engine.errors import EngineError, InputError
from recon.engine.model import Condition
from recon.engine.planner import (
    HOT_BLOCK_PAIRS,
    TOKEN_PAIR_LIMIT,
    BandKey,
    BusinessDays,
    Derivation,
    ItemKey,
    PassPlan,
    ScorePart,
    TextCompare,
)
from recon.engine.timing import stage

DerivedKey = tuple[str, str, Derivation]  # (side, column, derivation)
ALIAS = {"left": "L", "right": "R"}
T = TypeVar("T")


def _word_operands(cond: Condition) -> tuple[DerivedKey, DerivedKey]:
    """The upper-case texts whose words a condition's word tables (tokens, contains blocks) are made of."""
    return (
        ("left", cond.left, (*cond.normalize, "upper")),
        ("right", cond.right, (*cond.normalize, "upper")),
    )


def contains_operands(plan: PassPlan) -> set[DerivedKey]:
    """The operands of a pass's `contains` conditions, as block_words reads them."""
    keys: set[DerivedKey] = set()
    for cond in plan.spec.match:
        if cond.op == "contains":
            keys.update(_word_operands(cond))
    return keys


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
    return Side(name, contiguous(table), ids, id_column)


def contiguous(table: pa.Table) -> pa.Table:
    """The table with every column in one chunk (a reader gives one per block): Session.column then takes
    a column without copying it; combining on every use kept a second copy of each used column."""
    if all(column.num_chunks == 1 for column in table.columns):
        return table
    columns = [c if c.num_chunks == 1 else pa.chunked_array([c.combine_chunks()]) for c in table.columns]
    return pa.Table.from_arrays(columns, schema=table.schema)


@dataclass
class PairCandidates:
    """Candidate pairs of a pass after every condition, with their scores (sorted by left, right)."""

    left: IntArray
    right: IntArray
    score: FloatArray
    compare_ok: BoolArray
    sims: dict[ItemKey, FloatArray] = field(default_factory=dict)  # score and match-similarity items
    compares: dict[ItemKey, BoolArray] = field(default_factory=dict)  # outcome per compare item
    extra: dict[str, npt.NDArray[Any]] = field(default_factory=dict)
    below_left: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))  # had candidates, all < min
    below_right: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    below_best_left: FloatArray = field(default_factory=lambda: np.zeros(0))
    below_best_right: FloatArray = field(default_factory=lambda: np.zeros(0))

    def take(self, rows: IntArray) -> PairCandidates:
        """The candidates at these positions (repeated when a position repeats)."""
        return self.subset(rows)  # numpy indexing takes positions as it takes a mask

    @staticmethod
    def concat(parts: list[PairCandidates]) -> PairCandidates:
        """Candidates of consecutive parts (of left records, in rid order) as one, still sorted; the
        parts' below_left (their left records are theirs alone) joined, below_right left to the caller."""
        first = parts[0]

        def joined(arrays: list[npt.NDArray[Any]]) -> npt.NDArray[Any]:
            return np.concatenate(arrays) if len(arrays) > 1 else arrays[0]

        return PairCandidates(
            joined([p.left for p in parts]),
            joined([p.right for p in parts]),
            joined([p.score for p in parts]),
            joined([p.compare_ok for p in parts]),
            {k: joined([p.sims[k] for p in parts]) for k in first.sims},
            {k: joined([p.compares[k] for p in parts]) for k in first.compares},
            {k: joined([p.extra[k] for p in parts]) for k in first.extra},
            below_left=joined([p.below_left for p in parts]),
            below_best_left=joined([p.below_best_left for p in parts]),
        )

    def subset(self, keep: BoolArray | IntArray) -> PairCandidates:
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
    """The engine's state of one reconcile (sides, derived columns, vocabularies) over an execution
    backend (recon.engine.backend) that runs the plan's SQL; close() releases the backend."""

    def __init__(
        self,
        memory_limit: str | None,
        temp_dir: str | None,
        threads: int | None,
        backend: Backend | None = None,
    ) -> None:
        self.backend = backend or DuckDBBackend(memory_limit, temp_dir, threads)
        self.threads = self.backend.threads
        self.sides: dict[str, Side] = {}
        self.derived: dict[DerivedKey, str] = {}  # held derived columns: their alias
        self._aliases: dict[DerivedKey, str] = {}  # every alias given (kept when dropped)
        # per held derived column: the pass whose open records it covers (0: every record; see derive)
        self._covers: dict[DerivedKey, int] = {}
        self.extra: dict[str, dict[str, pa.Array]] = {"left": {}, "right": {}}
        # derived columns the backend makes where the side is (Backend.derive): no values on the driver
        self.held: dict[str, set[str]] = {"left": set(), "right": set()}
        self.columns: dict[tuple[str, str], pa.Array] = {}
        self._columns_lock = threading.Lock()
        self._codes: dict[tuple[str, str], IntArray] = {}
        self.vocabularies = frequency.Vocabularies()  # of the current pass, see begin_pass
        self._pool: ThreadPoolExecutor | None = None

    def background(self, work: Callable[[], T]) -> Future[T]:
        """Run Arrow/numpy-only work (never DuckDB) beside the next pass: both release the GIL."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recon-explain")
        return self._pool.submit(work)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self.backend.close()

    def begin_pass(self, offered: tuple[IntArray, IntArray]) -> frequency.Vocabularies:
        """A pass starts with these open records: word frequencies are those of the records it can pair
        (built on first use); the previous pass's vocabularies are dropped once its explanations are done."""
        self.vocabularies = frequency.Vocabularies(offered, self.vocabularies.generation + 1)
        return self.vocabularies

    def run(self, query: str) -> None:
        with stage(query.split(" AS ", maxsplit=1)[0][:40]):
            self.backend.run(query)

    def arrow(self, query: str, label: str | None = None) -> pa.Table:
        with stage(label or "query " + " ".join(query.split())[:34]):
            return self.backend.arrow(query)

    def register(self, name: str, table: pa.Table) -> None:
        self.backend.register(name, table)

    def unregister(self, name: str) -> None:
        self.backend.unregister(name)

    def add_side(self, side: Side) -> None:
        self.sides[side.name] = side
        self.publish(side.name)

    def publish(self, name: str) -> None:
        """(Re)register a side with its record index and derived columns."""
        side = self.sides[name]
        table = side.table.append_column("__rid", pa.array(np.arange(side.n, dtype=np.int64)))
        with self._columns_lock:
            extra = list(self.extra[name].items())
        for alias, values in extra:
            table = table.append_column(alias, values)
        self.register(ALIAS[name], table)

    def column(self, side: str, column: str) -> pa.Array:
        """A side's column as one contiguous array (kept for repeated takes; without a copy when the
        column is one chunk, as order_by_id leaves it)."""
        key = (side, column)
        with self._columns_lock:
            if key not in self.columns:
                values = self.sides[side].table.column(column)
                single = values.num_chunks == 1
                self.columns[key] = values.chunk(0) if single else values.combine_chunks()
            return self.columns[key]

    def derive(self, side: str, column: str, derivation: Derivation) -> str:
        """The planner's Derive: the name of a derived column of a side (normalized text, see
        recon.engine.normalize, or business-day numbers, see recon.engine.calendar). Its values are made
        when a pass's SQL first reads the side (pass_table), for the records open in that pass only."""
        with self._columns_lock:
            return self._aliases.setdefault((side, column, derivation), f"__t{len(self._aliases)}")

    def materialize(
        self, side: str, column: str, derivation: Derivation, within: frequency.Vocabularies | None = None
    ) -> str:
        """Name of a derived column of a side, its values computed once. `within`: a pass's vocabularies,
        whose open records are all the column needs (the others get null): a text first needed by a
        pass after the strict ones is normalized for a fraction of the records. Records only close from
        pass to pass, so a column made for a pass serves every later one."""
        return self._materialize((side, column, derivation), within)[0]

    def _materialize(
        self, key: DerivedKey, within: frequency.Vocabularies | None, in_backend: bool = False
    ) -> tuple[str, bool]:
        """(alias, whether the values were made now) of a derived column (see materialize). `in_backend`:
        only the backend's queries read it, so a backend that normalises where the side is (Spark) makes
        it there, for every record (Backend.derive); the driver's values are made when it needs them."""
        side, column, derivation = key
        generation = 0 if within is None else within.generation
        with self._columns_lock:
            known = self.derived.get(key)
            held = known is not None and known in self.held[side]
            if known is not None and self._covers[key] <= generation and (in_backend or not held):
                return known, False
        if in_backend and not isinstance(derivation, BusinessDays):
            with self._columns_lock:
                alias = self._aliases.setdefault(key, f"__t{len(self._aliases)}")
            if self.backend.derive(ALIAS[side], alias, column, derivation):
                with self._columns_lock:
                    self.extra[side].pop(alias, None)  # values for fewer records: Spark's cover all
                    self._codes.pop((side, f"codes {alias}"), None)
                    self.held[side].add(alias)
                    self.derived[key] = alias
                    self._covers[key] = 0  # every record
                return alias, True
        rids = None
        if within is not None and within.records is not None:
            rids = within.records[0 if side == "left" else 1]
        derived = self._derived_column(side, column, derivation, rids)
        with self._columns_lock:
            known = self.derived.get(key)
            if known is not None and self._covers[key] <= generation and known not in self.held[side]:
                return known, False
            # a column dropped after its last planned pass and needed again keeps its name: plans made
            # before refer to it; one that covers too few records for an earlier pass's explanations is
            # replaced by the wider one (both agree on the records they share)
            alias = self._aliases.setdefault(key, f"__t{len(self._aliases)}")
            self.extra[side][alias] = derived
            self.derived[key] = alias
            if alias in self.held[side]:  # the driver holds its values now: registered with the side
                self.held[side].discard(alias)
                self.backend.underive(ALIAS[side], alias)
            self._covers[key] = generation
            self._codes.pop((side, f"codes {alias}"), None)
            return alias, True

    def named_in(self, side: str, expressions: Iterable[str]) -> list[DerivedKey]:
        """The derived columns of a side that these SQL expressions name."""
        text = " ".join(expressions)
        with self._columns_lock:
            aliases = list(self._aliases.items())
        return [key for key, alias in aliases if key[0] == side and sql.quote(alias) in text]

    def materialize_named(
        self, side: str, plan: PassPlan, rids: IntArray, expressions: Iterable[str]
    ) -> None:
        """Make the derived columns that a pass's SQL on these records of a side names (the planner only
        named them), for the records open in the pass, and register the side again when one was made.
        The words a `contains` condition's crowded blocks share are counted over every record
        (block_words): its operands are made for every record."""
        keys = self.named_in(side, expressions)
        if not keys:
            return
        whole = {k for k in contains_operands(plan) if k[0] == side}
        within: frequency.Vocabularies | None = self.vocabularies
        records = self.vocabularies.records
        if records is not None:
            open_now = np.zeros(self.sides[side].n, bool)
            open_now[records[0 if side == "left" else 1]] = True
            if not open_now[rids].all():
                within = None  # records outside the pass's open ones (not expected): every record
        made = False
        for key in keys:
            made |= self._materialize(key, None if key in whole else within, in_backend=True)[1]
        if made:
            self.publish(side)

    def _derived_column(
        self, side: str, column: str, derivation: Derivation, rids: IntArray | None
    ) -> pa.Array:
        values = self.column(side, column)
        n = len(values)
        if rids is not None and len(rids) < n:
            values = values.take(pa.array(rids))
        if isinstance(derivation, BusinessDays):
            with stage(f"business days {side}.{column} {derivation.calendar or ''}"):
                derived = calendar.business_day_numbers(values, derivation.calendar)
        else:
            with stage(f"normalize {side}.{column} {'/'.join(derivation)} x {len(values):,}"):
                derived = normalize_in_chunks(values, derivation)
        if len(derived) == n:
            return derived
        assert rids is not None
        position = np.full(n, -1, np.int64)
        position[rids] = np.arange(len(rids))
        return derived.take(pa.array(position, mask=position < 0))  # null where not open

    def derived_values(
        self, side: str, column: str, derivation: Derivation, within: frequency.Vocabularies | None = None
    ) -> pa.Array:
        """The values of a derived column (see derive; `within`: only a pass's open records needed)."""
        while True:
            alias = self.materialize(side, column, derivation, within)
            with self._columns_lock:
                values = self.extra[side].get(alias)
            if values is not None:
                return values  # else dropped meanwhile (drop_derived): derived again

    def needs(self, plan: PassPlan) -> set[DerivedKey]:
        """The derived columns a pass reads: those its SQL names (plan.columns), the normalized texts of
        its weighted items (word weights) and of its word blocking (token tables, refined blocks)."""
        wanted: set[DerivedKey] = set()
        for side, columns in plan.columns.items():
            wanted.update(self.named_in(side, columns.values()))
        texts = [part.text for part in plan.scores] + [c.text for c in plan.checks if c.text is not None]
        if plan.refine is not None and plan.refine.text is not None:
            texts.append(plan.refine.text)
        for text in texts:
            if text.weighted:
                wanted.add(("left", text.left_column, text.normalize))
                wanted.add(("right", text.right_column, text.normalize))
        if plan.tokens is not None and plan.tokens.condition is not None:
            wanted.update(_word_operands(plan.spec.match[plan.tokens.condition]))
        # refined blocks on a contains condition (a grouped pass's step inside its groups has them too)
        wanted.update(contains_operands(plan))
        return wanted

    def drop_derived(self, keep: set[DerivedKey]) -> list[DerivedKey]:
        """Drop the derived columns (and their text codes) not in `keep`, after the last pass that reads
        them; the sides are registered again without them. A dropped column asked for again is derived
        again under its old name (same values). Returns the dropped keys."""
        with self._columns_lock:
            dropped = [key for key in self.derived if key not in keep]
            for key in dropped:
                side, alias = key[0], self.derived.pop(key)
                del self._covers[key]
                self.extra[side].pop(alias, None)
                if alias in self.held[side]:
                    self.held[side].discard(alias)
                    self.backend.underive(ALIAS[side], alias)
                self._codes.pop((side, f"codes {alias}"), None)
        for side in sorted({key[0] for key in dropped}):
            self.publish(side)
        return dropped

    def drop_pass_tables(self) -> None:
        """Drop the temp tables a pass left in DuckDB (a grouped pass's tables and candidates, crowded
        blocks): every pass makes its own, and the grouped `partial-payments` pass's (73 MB at 1M dense)
        were held through the near pass until the next grouped pass replaced them."""
        if self.backend.name != "DuckDB":
            return
        names = self.backend.arrow("SELECT table_name FROM duckdb_tables() WHERE temporary")
        for name in names.column("table_name").to_pylist():
            self.backend.run(f"DROP TABLE IF EXISTS {sql.quote(name)}")

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
        band = plan.band
        if (
            band_role
            and band is not None
            and (band.condition is not None or side not in plan.spec.many_sides)
        ):
            columns.update(band_columns(plan, plan.columns[side][band.alias], band_role))
        if band_role and plan.window is not None:
            window = plan.window
            columns.update(band_columns(plan, plan.columns[side][window.alias], band_role, window, "2"))
        raw = "".join(f", {sql.quote(c)}" for c in plan.raw[side]) if grouped else ""
        self.materialize_named(side, plan, rids, columns.values())
        derived = "".join(f", {expr} AS {sql.quote(alias)}" for alias, expr in columns.items())
        where = ""
        if len(rids) < self.sides[side].n:
            self.register(f"{name}_avail", pa.table({"__rid": rids}))
            where = f" WHERE __rid IN (SELECT __rid FROM {name}_avail)"
        kind, relation = ("TABLE", name) if grouped else ("VIEW", f"{name}_view")
        select = f"SELECT __rid{raw}{derived} FROM {ALIAS[side]}{where}"
        self.run(f"CREATE OR REPLACE TEMP {kind} {relation} AS {select}")
        return relation

    def hot_blocks(self, plan: PassPlan, left: str, right: str, name: str = "__hot") -> str | None:
        """A table of the crowded blocks (more than HOT_BLOCK_PAIRS pairs) between two pass tables, for a
        pass that gathers its candidates a part of one side at a time (pair_candidates' `hot`): a block
        is then crowded or not by all its pairs, not by those of the part. None: the pass has no refine."""
        if plan.refine is None or not (plan.keys or plan.band is not None):
            return None
        self.run(f"CREATE OR REPLACE TEMP TABLE {name} AS {_hot_query(plan, left, right)}")
        return name

    def pair_candidates(
        self,
        plan: PassPlan,
        left: str,
        right: str,
        extra: dict[str, str] | None = None,
        where_extra: tuple[str, ...] = (),
        *,
        hot: str | None = None,
    ) -> PairCandidates:
        """Candidates of a pass between two pass tables, every condition applied, scored (see rules doc).
        `where_extra`: further SQL conditions on the pairs (l, r), applied in the join.
        `hot`: the crowded blocks as hot_blocks() found them (default: counted between these tables).

        A pass gathered in parts (candidate_tables) is scored and cut to min_score part by part: only
        one part's candidates and their scoring arrays live at once, beside the candidates kept so far.
        What a part's decisions need of the other parts (whether a right record has a candidate at or
        above min_score, its best score) is carried across them (AcrossParts)."""
        select = ["l.__rid AS lr", "r.__rid AS rr"]
        # score items computed outside SQL read their operands per record (see ScoreTexts), not per pair
        # ... and so do a match condition's when the backend scores pairs where the pass tables are
        select += similarity_columns(
            plan, score_operands=False, check_operands=not self.backend.scores_in_place
        )
        if not plan.scores:
            select.append(f"{sql.mean(plan.closeness)} AS __close")
        select += [f"{check.sql} AS {check.key.column}" for check in plan.compares]
        select += [f"{expr} AS {alias}" for alias, expr in (extra or {}).items()]
        key_labels = {key.label for key in plan.keys}
        where = [c.sql for c in plan.checks if c.sql is not None and c.label not in key_labels] or ["true"]
        where += list(where_extra)
        words = self.block_words(plan) if plan.refine is not None else None
        tokens = self.token_tables(plan) if plan.tokens is not None else None
        self.prepare_weights(plan)
        texts = ScoreTexts(self, plan, (left, right), whole=self.weighs_in_place(plan))
        across = AcrossParts(self.sides["right"].n if "right" in self.sides else 0)
        parts: list[PairCandidates] = []
        tables = self.candidate_tables(plan, (left, right), select, where, (words, tokens), hot=hot)
        for table in tables:
            box = [table]
            del table  # the part's table is taken apart as it is read (_scored_part)
            parts.append(self._scored_part(plan, box, extra, texts, across))
        del texts  # the operands' texts it read
        for name in (*(words or ()), *(tokens or ())):
            self.unregister(name)  # registered by each call; held by the backend to the end otherwise
        result = parts[0] if len(parts) == 1 else PairCandidates.concat(parts)
        del parts
        if plan.spec.min_score is not None:
            result.below_right, result.below_best_right = across.below()
        return result

    def _scored_part(
        self,
        plan: PassPlan,
        box: list[pa.Table],
        extra: dict[str, str] | None,
        texts: ScoreTexts,
        across: AcrossParts,
    ) -> PairCandidates:
        """The candidates of one table of candidate_tables, checked, scored and cut to min_score."""
        table = box.pop()
        # Each column of the query's table is converted to the array it is read as and dropped from the
        # table at once; the table itself goes before the candidates are subset (the 1M dense near pass's
        # 2.7M candidates: every column of the table and its numpy copy were held to the end of the pass).
        n = table.num_rows
        lr, rr = _ints(table, "lr"), _ints(table, "rr")
        compares = {c.key: _bools(table, c.key.column) for c in plan.compares}
        extras = {alias: table.column(alias).to_numpy(zero_copy_only=False) for alias in (extra or {})}
        table = table.drop_columns(["lr", "rr", *(c.key.column for c in plan.compares), *extras])
        ok = np.ones(n, bool)
        sims: dict[ItemKey, FloatArray] = {}
        for check in plan.checks:
            if check.text is not None:
                sim = self.similarity(check.text, table, check.key, (lr, rr), texts=texts)
                ok &= sim >= check.minimum - 1e-12
                sims[check.key] = sim
        if plan.scores:
            across.fit(rr)
            score = self.scores(plan, table, (lr, rr), ok, sims=sims, texts=texts, kept_right=across.kept)
        else:
            score = _floats(table, "__close")
        del table
        compare_ok = np.ones(n, bool)
        for values in compares.values():
            compare_ok &= values
        result = PairCandidates(lr, rr, score, compare_ok, sims, compares, extras)
        del lr, rr, score, compare_ok, sims, compares, extras  # held by `result` alone: freed with it
        if not ok.all():
            result = result.subset(ok)
        del ok
        if plan.spec.min_score is not None:
            result = apply_min_score(result, plan.spec.min_score, across)
        return result

    def candidate_tables(
        self,
        plan: PassPlan,
        tables: tuple[str, str],
        select: list[str],
        where: list[str],
        blocking: tuple[tuple[str, str] | None, tuple[str, str] | None],
        *,
        hot: str | None,
    ) -> Iterator[pa.Table]:
        """The candidate query's table (ORDER BY lr, rr), in parts. A pass that blocks on keys or a band
        and scores its candidates (many a record: a near pass) gathers it CANDIDATE_CHUNK left records at
        a time, in rid order (the parts concatenate in the whole query's order), its crowded blocks
        counted once between the whole tables (hot_blocks): DuckDB's join, sort and result of one part
        live at once, not those of every pair (the 1M dense near pass: +380 MB for 2.7M pairs), and the
        caller scores a part before the next is gathered. Each pair's row depends only on its two
        records, so the rows are those of one query. Exact passes (a candidate or two a record) take one
        query: every part would scan their views again for little memory."""
        left, right = tables
        words, tokens = blocking
        label = f"{plan.name}: candidates ({self.backend.name})"

        def query(source: str) -> str:
            joined = join_clause(plan, source, right, words, tokens, hot=hot)
            return f"SELECT {', '.join(select)} FROM {joined} WHERE {' AND '.join(where)} ORDER BY lr, rr"

        blocked = bool(plan.keys) or plan.band is not None
        whole = not (blocked and plan.scores) or self.backend.name != "DuckDB"
        rids = np.zeros(0, np.int64)
        box: list[pa.Table] = []
        with stage(label):
            if not whole:
                rids = _ints(self.backend.arrow(f"SELECT __rid FROM {left} ORDER BY __rid"), "__rid")
                whole = len(rids) <= CANDIDATE_CHUNK
            if whole:
                box = [self.backend.arrow(query(left))]
            elif words is not None and hot is None:
                hot = self.hot_blocks(plan, left, right, "__hot_parts")
        if whole:
            yield box.pop()  # the caller holds the only reference (it frees columns as it reads them)
            return
        # the first part has CANDIDATE_CHUNK left records, each next one as many as make about PART_PAIRS
        # candidates at the rate of the part before (the 1M dense near pass: ~12 a record, ~22k records a
        # part; classic: <1, so the rest in one more part: every part scans the right side's view again)
        start, size = 0, CANDIDATE_CHUNK
        while start < len(rids):
            stop = min(start + size, len(rids))
            low, high = rids[start], rids[stop - 1]
            with stage(label):
                self.backend.run(
                    f"CREATE OR REPLACE TEMP TABLE __left_part AS "
                    f"SELECT * FROM {left} WHERE __rid BETWEEN {int(low)} AND {int(high)}"
                )
                box = [self.backend.arrow(query("__left_part"))]
            rate = box[0].num_rows / (stop - start)
            yield box.pop()
            start, size = stop, max(CANDIDATE_CHUNK, int(PART_PAIRS / max(rate, 1e-3)))
        self.backend.run("DROP TABLE IF EXISTS __left_part")

    def prepare_weights(self, plan: PassPlan) -> None:
        """Build the word weights and text codes of a pass's weighted score items before its candidates
        are gathered: their building's transient arrays (a vocabulary of long descriptions: ~150 MB at the
        1M dense near pass) then come on top of the pass tables alone, not of the candidates and their
        scoring arrays. The same values as built on first use (they depend only on the pass's records).
        A backend that weighs words where the pass tables are (weighs_in_place) needs none of them."""
        if self.weighs_in_place(plan):
            return
        for part in plan.scores:
            text = part.text
            if text.weighted:
                self.vocabulary(text)
                self.text_codes("left", text.left_column, text.normalize)
                self.text_codes("right", text.right_column, text.normalize)

    def weighs_in_place(self, plan: PassPlan) -> bool:
        """Are the pass's word weights counted, and its weighted items weighed, where its pass tables are
        (Backend.word_vocabulary, weighted)? Only a one_to_one pass's: its pass tables hold exactly the
        records open in the pass, which the weights are counted over; a grouped pass gathers its
        candidates from tables of some groups' records at a time."""
        return self.backend.scores_in_place and plan.spec.kind == "one_to_one"

    def scores(
        self,
        plan: PassPlan,
        table: pa.Table,
        pairs: tuple[IntArray, IntArray],
        ok: BoolArray,
        *,
        sims: dict[ItemKey, FloatArray],
        texts: ScoreTexts,
        kept_right: BoolArray | None = None,
    ) -> FloatArray:
        """Weighted mean of the score items over the candidates that pass the checks (`ok`; others 0).

        With a min_score, an item is computed only for pairs that can still reach it (every item not yet
        computed counted as 1): on crowded data most candidates are out after the cheap items, and the
        costly ones (rapidfuzz over long texts, word weights) are spared. Pairs left out that way are
        computed after all when one of their records has no candidate at or above min_score (its best
        score is reported); every other one is below min_score whatever its remaining items, and gets
        -inf. Each item's value of a pair does not depend on the other pairs: the scores that decide are
        the same as computing every item for every pair.

        `kept_right`: per right record, whether a candidate of an earlier part of the pass's candidates
        (candidate_tables) reached min_score; updated with these. A part holds all the candidates of its
        left records but not all of its right records': a pair left out is computed unless both its
        records are known to have a candidate at or above min_score. A right record that reaches it in
        a later part has had some of its pairs computed for nothing: they are below min_score, as they
        would be with -inf, and its best score is not reported (it has a candidate above)."""
        parts = plan.scores
        n = len(pairs[0])
        total_weight = sum(part.weight for part in parts)
        floor = plan.spec.min_score if LAZY_SCORES else None
        values = {part.key: np.zeros(n) for part in parts}
        done = {part.key: np.zeros(n, bool) for part in parts}
        alive = ok.copy()
        bound = np.zeros(n)
        remaining = total_weight
        for part in sorted(parts, key=lambda p: _cost(p.text)):
            rows = np.flatnonzero(alive)
            self.similarities_at(part, table, pairs, rows, values=values[part.key], texts=texts)
            done[part.key][rows] = True
            if floor is None:
                continue
            bound += part.weight * values[part.key]
            remaining -= part.weight
            alive &= (bound + remaining) / total_weight >= floor - 1e-9
        if floor is not None:
            scored = _weighted_mean(parts, values, total_weight, alive)
            kept = alive & (scored >= floor - 1e-12)
            if kept_right is None:
                right_kept = _has(pairs[1], kept)
            else:
                kept_right[pairs[1][kept]] = True
                right_kept = kept_right[pairs[1]]
            late = ok & ~alive & ~(_has(pairs[0], kept) & right_kept)
            del right_kept
            for part in parts:
                rows = np.flatnonzero(late & ~done[part.key])
                if len(rows):
                    self.similarities_at(part, table, pairs, rows, values=values[part.key], texts=texts)
            computed = alive | late
        else:
            computed = ok
        sims.update(values)
        score = _weighted_mean(parts, values, total_weight, computed)
        score[ok & ~computed] = -np.inf
        return score

    def similarities_at(
        self,
        part: ScorePart,
        table: pa.Table,
        pairs: tuple[IntArray, IntArray],
        rows: IntArray,
        *,
        values: FloatArray,
        texts: ScoreTexts,
    ) -> None:
        """values[rows] = the item's similarity of those candidates, SCORE_CHUNK of them at a time: the
        chosen pairs' copies, raw similarities and the frequency adjustment's arrays live for one chunk,
        not for all the pass's candidates (the 1M dense near pass: 2.7M). Each pair's value depends only
        on its two records, so the values are those of one call."""
        for start in range(0, len(rows), SCORE_CHUNK):
            chunk = rows[start : start + SCORE_CHUNK] if len(rows) > SCORE_CHUNK else rows
            values[chunk] = self.similarity_of(part.text, table, part.key, pairs, rows=chunk, texts=texts)

    def similarity_of(
        self,
        text: TextCompare,
        table: pa.Table,
        key: ItemKey,
        pairs: tuple[IntArray, IntArray],
        *,
        rows: IntArray,
        texts: ScoreTexts,
    ) -> FloatArray:
        """Similarity of the candidates at `rows` (see similarity); operands outside SQL from `texts`."""
        if len(rows) == 0:
            return np.zeros(0)
        chosen = pairs if len(rows) == len(pairs[0]) else (pairs[0][rows], pairs[1][rows])
        raw = _floats(table, key.column)[rows] if text.sql is not None else texts.token_set(text, *chosen)
        if not text.weighted:
            return raw
        return self.weighted(text, raw, chosen, texts)

    def similarity(
        self,
        text: TextCompare,
        table: pa.Table,
        key: ItemKey,
        pairs: tuple[IntArray, IntArray],
        needed: BoolArray | None = None,
        *,
        texts: ScoreTexts | None = None,
    ) -> FloatArray:
        """Similarity of candidate pairs: the method's (from the query's `key.column`, or rapidfuzz over
        the operands `key.operands`; when the query has no operands, `texts` scores the pairs where the
        pass tables are), frequency-adjusted when the item is weighted (rows not `needed` keep the
        unadjusted value); the query selected them with similarity_columns()."""
        if text.sql is not None:
            raw = _floats(table, key.column).copy()
        elif texts is not None and key.operands[0] not in table.column_names:
            raw = texts.token_set(text, *pairs)
        else:
            raw = self.token_set(table, *key.operands)
        if not text.weighted:
            return raw
        rows = np.arange(len(pairs[0])) if needed is None else np.flatnonzero(needed)
        raw[rows] = self.weighted(text, raw[rows], (pairs[0][rows], pairs[1][rows]), texts)
        return raw

    def weighted(
        self,
        text: TextCompare,
        raw: FloatArray,
        pairs: tuple[IntArray, IntArray],
        texts: ScoreTexts | None = None,
    ) -> FloatArray:
        """The frequency adjustment of a weighted item's raw similarities of these pairs (by `texts`
        where the pass tables are, when the backend weighs words there: ScoreTexts.weighted)."""
        held = texts.weighted(text, raw, pairs) if texts is not None else None
        if held is not None:
            return held
        vocabulary = self.vocabulary(text)
        with stage(f"weighted {text.method}({text.left_column}, {text.right_column}) x {len(raw):,}"):
            # Once per distinct pair of texts (a customer's invoices repeat its name, and the members of a
            # group_by group share theirs), WEIGHT_CHUNK pairs at a time in the order of their text pair:
            # equal text pairs are neighbours, so a chunk computes each of its text pairs once and only a
            # text pair cut by a chunk's end is computed twice (the same value). The dense near pass has
            # 2.7M candidates: all at once, the distinct pairs' search and their per-pair arrays were
            # ~12 arrays of 22 MB; now two (the text pair numbers and their order) and one chunk's.
            left, right = pairs
            codes_r = self.text_codes("right", text.right_column, text.normalize)
            text_pair = self.text_codes("left", text.left_column, text.normalize)[left]
            text_pair *= int(codes_r.max(initial=0)) + 1
            text_pair += codes_r[right]
            order = np.argsort(text_pair, kind="stable")
            result = np.empty(len(raw))
            for start in range(0, len(order), WEIGHT_CHUNK):
                rows = order[start : start + WEIGHT_CHUNK]
                codes = text_pair[rows]
                starts = np.r_[True, codes[1:] != codes[:-1]]
                first = rows[starts]
                inverse = np.cumsum(starts) - 1
                weighted, plain = frequency.weighted_similarity(
                    vocabulary, left[first], right[first], text.method
                )
                result[rows] = frequency.adjusted(raw[rows], weighted[inverse], plain[inverse])
            return result

    def text_codes(self, side: str, column: str, normalizers: tuple[str, ...]) -> IntArray:
        """Per record: a number for its normalized text (equal texts, equal numbers; no text: 0)."""
        alias = self.materialize(side, column, normalizers, self.vocabularies)
        key = (side, f"codes {alias}")
        with self._columns_lock:
            known = self._codes.get(key)
        if known is not None:
            return known
        with stage(f"text codes {side}.{column} (with its normalized values)"):
            values = self.derived_values(side, column, normalizers, self.vocabularies)
            encoded = pc.dictionary_encode(values)
            indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
            codes = np.asarray(indices, dtype=np.int64) + 1
        with self._columns_lock:
            self._codes[key] = codes
        return codes

    def token_tables(self, plan: PassPlan) -> tuple[str, str]:
        """Register (rid, tok) tables: the distinct upper-case words of the token-blocking operand, as codes
        of one dictionary for both sides (the query only compares them)."""
        assert plan.tokens is not None and plan.tokens.condition is not None
        cond = plan.spec.match[plan.tokens.condition]
        values = [
            self.derived_values(side, column, (*cond.normalize, "upper"), self.vocabularies)
            for side, column in (("left", cond.left), ("right", cond.right))
        ]
        with stage(f"{plan.name}: token tables"):
            found = frequency.record_words(*values)
        names = ("__tl", "__tr")
        for side, name in enumerate(names):
            self.register(name, pa.table({"rid": found.rids[side], "tok": found.codes[side]}))
        return names

    def block_words(self, plan: PassPlan) -> tuple[str, str]:
        """Register (rid, w) tables of the words crowded blocks must share (see planner.Refine)."""
        assert plan.refine is not None
        names = ("__wl", "__wr")
        if plan.refine.text is not None:
            vocabulary = self.vocabulary(plan.refine.text)
            for side, name in zip(("left", "right"), names, strict=True):
                rids, words = frequency.key_words(vocabulary, side)
                self.register(name, pa.table({"rid": rids, "w": words}))
            return names
        assert plan.refine.contains is not None
        cond = plan.spec.match[plan.refine.contains]
        # every record: the rarest word is counted over all of them (a column the SQL names anyway)
        values = [
            self.derived_values(side, column, (*cond.normalize, "upper"))
            for side, column in (("left", cond.left), ("right", cond.right))
        ]
        with stage(f"{plan.name}: word tables"):
            found = frequency.record_words(*values)
        # the value looked for keeps its rarest word; the text searched keeps all its words (word codes:
        # the query only compares them)
        sought = 0 if cond.direction == "right_contains_left" else 1
        tables = [(found.rids[side], found.codes[side]) for side in (0, 1)]
        with stage(f"{plan.name}: rarest words"):
            tables[sought] = found.rarest(sought)
            # a word of the text searched pairs records only when some value looked for has it as its
            # rarest word: the others never join (the 1M dense descriptions' ~10M words: ~1M are kept)
            other = 1 - sought
            looked_for = np.zeros(len(found.dictionary), bool)
            looked_for[tables[sought][1]] = True
            keep = looked_for[found.codes[other]]
            del looked_for
            tables[other] = (found.rids[other][keep], found.codes[other][keep])
            del keep
        del found
        for (owners, codes), name in zip(tables, names, strict=True):
            self.register(name, pa.table({"rid": owners, "w": codes}))  # int32 (frequency.record_words)
        return names

    def vocabulary(
        self, text: TextCompare, vocabularies: frequency.Vocabularies | None = None
    ) -> frequency.Vocabulary:
        """Word weights of a text item's columns over the records open in the pass (both sides: the data's
        own frequencies); `vocabularies`: those of an earlier pass (its explanations)."""
        chosen = vocabularies or self.vocabularies
        known = chosen.known(text.vocabulary)  # built: the columns may be dropped since (explanations)
        if known is not None:
            return known
        columns = {}
        for side, column in (("left", text.left_column), ("right", text.right_column)):
            columns[side] = self.derived_values(side, column, text.normalize, chosen)
        with stage(f"vocabulary {text.left_column}/{text.right_column}"):
            return chosen.get(text.vocabulary, columns["left"], columns["right"])

    def token_set(self, table: pa.Table, left: str, right: str) -> FloatArray:
        lefts = table.column(left).to_pylist()
        rights = table.column(right).to_pylist()
        return token_set_ratios(lefts, rights, self.threads if len(lefts) > 50_000 else 1)


def token_set_ratios(lefts: list[Any], rights: list[Any], workers: int = 1) -> FloatArray:
    """rapidfuzz's token_set_ratio of pairs of texts (None: no text) as 0..1: the one implementation the
    driver and the Spark backend's UDF (recon.engine.spark.scores) run."""
    sims = process.cpdist(lefts, rights, scorer=fuzz.token_set_ratio, workers=workers, dtype=np.float64)
    return np.asarray(sims, dtype=np.float64) / 100.0


TEXT_CHUNK = 1 << 16  # pairs of texts handed to rapidfuzz at once (Python strings: ~20 MB of long texts)
CANDIDATE_CHUNK = 1 << 14  # left records of a pass's first part of candidates (candidate_tables), at least
PART_PAIRS = 1 << 18  # candidates a later part aims at (gathered and scored at once)
SCORE_CHUNK = 1 << 20  # candidates a score item is computed for at once (Session.similarities_at)
WEIGHT_CHUNK = 1 << 18  # pairs whose frequency adjustment is computed at once (Session.weighted)
LAZY_SCORES = True  # off: every score item for every candidate (tests compare both ways)


class ScoreTexts:
    """Operands of a pass's score items that rapidfuzz compares, read once per record of each pass
    table (not once per candidate pair: the dense shape's near pass has 2.8M pairs of long texts)."""

    def __init__(
        self, session: Session, plan: PassPlan, relations: tuple[str, str], *, whole: bool = False
    ) -> None:
        self.session = session
        self.relations = relations
        self.whole = whole  # the relations hold exactly the pass's open records (Session.weighs_in_place)
        self._read: dict[tuple[int, str], tuple[IntArray, pa.Array]] = {}

    def operand(self, side: int, alias: str, rids: IntArray) -> list[Any]:
        if (side, alias) not in self._read:
            table = self.session.arrow(
                f"SELECT __rid, {sql.quote(alias)} AS v FROM {self.relations[side]} ORDER BY __rid",
                f"operand {alias} of {self.relations[side]}",
            )
            self._read[(side, alias)] = (_ints(table, "__rid"), table.column("v").combine_chunks())
        known, values = self._read[(side, alias)]
        return values.take(pa.array(np.searchsorted(known, rids))).to_pylist()  # type: ignore[no-any-return]

    def token_set(self, text: TextCompare, left: IntArray, right: IntArray) -> FloatArray:
        """rapidfuzz's token_set_ratio of the pairs, TEXT_CHUNK pairs at a time: Python strings of 2.8M
        pairs of long descriptions held at once were ~600 MB (262,144 pairs at a time: ~86 MB). A backend
        that scores pairs where the pass tables are (Backend.token_set: Spark) does it there, and the
        texts never reach the driver."""
        with stage(f"{text.method}({text.left_column}, {text.right_column}) x {len(left):,}"):
            held = self.session.backend.token_set(self.relations, text.alias, left, right)
            if held is not None:
                return held
            sims = np.zeros(len(left))
            workers = self.session.threads if len(left) > 50_000 else 1
            for start in range(0, len(left), TEXT_CHUNK):
                part = slice(start, start + TEXT_CHUNK)
                lefts = self.operand(0, text.alias, left[part])
                rights = self.operand(1, text.alias, right[part])
                sims[part] = token_set_ratios(lefts, rights, workers)
        return sims

    def weighted(
        self, text: TextCompare, raw: FloatArray, pairs: tuple[IntArray, IntArray]
    ) -> FloatArray | None:
        """The frequency adjustment of a weighted item's raw similarities of these pairs, weighed where
        the pass tables are: the pass's word weights counted there once (Backend.word_vocabulary, kept
        with the pass's vocabularies for its explanations), the pairs' texts weighed there
        (Backend.weighted); the driver neither reads the texts nor builds any record's words. None: the
        driver weighs them (Session.weighted): on DuckDB, in a grouped pass, or when the driver built the
        pass's vocabulary already (to block crowded blocks on its words, Session.block_words)."""
        session, backend = self.session, self.session.backend
        vocabularies = session.vocabularies
        if not self.whole or vocabularies.known(text.vocabulary) is not None:
            return None
        vocabulary = vocabularies.pooled(text.vocabulary)
        if vocabulary is None:
            with stage(f"word weights {text.left_column}/{text.right_column} ({backend.name})"):
                counted = backend.word_vocabulary(self.relations, text.alias)
            if counted is None:
                return None
            vocabulary = vocabularies.pool(text.vocabulary, counted)
        label = f"weighted {text.method}({text.left_column}, {text.right_column}) x {len(raw):,}"
        with stage(f"{label} ({backend.name})"):
            found = backend.weighted(self.relations, text.alias, text.method, vocabulary, pairs)
        if found is None:
            return None
        return frequency.adjusted(raw, *found)


def _cost(text: TextCompare) -> int:
    """Order in which score items are computed: SQL values are free, word weights cost, rapidfuzz more."""
    return (0 if text.sql is not None else 2) + (1 if text.weighted else 0)


def _weighted_mean(
    parts: tuple[Any, ...], values: dict[ItemKey, FloatArray], total_weight: float, rows: BoolArray
) -> FloatArray:
    """The score as pair_candidates always summed it (items in rule order), at `rows` (else 0)."""
    total = np.zeros(len(rows))
    for part in parts:
        total += part.weight * np.where(rows, values[part.key], 0.0)
    return total / total_weight


def _has(nodes: IntArray, chosen: BoolArray) -> BoolArray:
    """Per pair: whether its node (left or right record) owns any chosen pair."""
    if len(nodes) == 0:
        return np.zeros(0, bool)
    owns = np.zeros(int(nodes.max()) + 1, bool)
    owns[nodes[chosen]] = True
    return owns[nodes]


NORMALIZE_CHUNK = 1 << 18


def normalize_in_chunks(values: pa.Array, normalizers: tuple[str, ...]) -> pa.Array:
    """normalize.apply() NORMALIZE_CHUNK rows at a time: every normalizer works row by row, and the
    intermediate arrays of a whole column of long texts (the dense shape's descriptions) added ~600 MB."""
    if len(values) <= NORMALIZE_CHUNK:
        return normalize.apply(values, normalizers)
    chunks = [
        normalize.apply(values.slice(start, NORMALIZE_CHUNK), normalizers)
        for start in range(0, len(values), NORMALIZE_CHUNK)
    ]
    if len({chunk.type for chunk in chunks}) > 1 or sum(c.nbytes for c in chunks) >= 2**31 - 1:
        chunks = [chunk.cast(pa.large_string()) for chunk in chunks]
    return pa.concat_arrays(chunks)


def similarity_columns(plan: PassPlan, score_operands: bool = True, check_operands: bool = True) -> list[str]:
    """SELECT items of the text similarities of a pass's score and match items, over l./r.: the value
    when SQL computes it, else both operands (see Session.similarity; without `score_operands`, not
    those of score items: ScoreTexts reads them; without `check_operands`, not those of match
    conditions: ScoreTexts has them scored where the pass tables are)."""
    texts = [(part.key, part.text) for part in plan.scores if score_operands or part.text.sql is not None]
    texts += [
        (check.key, check.text)
        for check in plan.checks
        if check.text is not None and (check_operands or check.text.sql is not None)
    ]
    select = []
    for key, text in texts:
        if text.sql is not None:
            select.append(f"{text.sql} AS {key.column}")
        else:
            left, right = key.operands
            select += [f"l.{text.alias} AS {left}", f"r.{text.alias} AS {right}"]
    return select


def band_columns(
    plan: PassPlan, value: str, role: str, key: BandKey | None = None, suffix: str = ""
) -> dict[str, str]:
    """Bucket columns of a band (the pass's band by default): the probing (left) side gets a bucket range,
    the other side one bucket."""
    chosen = key or plan.band
    assert chosen is not None
    band = chosen.band
    columns = (
        {f"__blo{suffix}": band.low(value), f"__bhi{suffix}": band.high(value)}
        if role == "probe"
        else {f"__b{suffix}": band.bucket(value)}
    )
    sign = band.sign(value)
    if sign is not None:
        columns[f"__bsg{suffix}"] = sign
    return columns


def _probe(left: str, plan: PassPlan) -> str:
    """The probing side with one row per bucket of its band(s): __bk (and __bk2 for the window)."""
    source = f"(SELECT *, unnest(range(__blo, __bhi + 1)) AS __bk FROM {left})"
    if plan.window is not None:
        source = f"(SELECT *, unnest(range(__blo2, __bhi2 + 1)) AS __bk2 FROM {source})"
    return source


def _band_keys(plan: PassPlan) -> list[tuple[str, str]]:
    """(probe column, build column) pairs the band(s) join on."""
    assert plan.band is not None
    pairs = [("__bk", "__b")]
    if plan.band.band.kind == "pct":
        pairs.append(("__bsg", "__bsg"))
    if plan.window is not None:
        pairs.append(("__bk2", "__b2"))
        if plan.window.band.kind == "pct":
            pairs.append(("__bsg2", "__bsg2"))
    return pairs


def join_clause(
    plan: PassPlan,
    left: str,
    right: str,
    words: tuple[str, str] | None = None,
    tokens: tuple[str, str] | None = None,
    *,
    hot: str | None = None,
) -> str:
    """FROM clause joining two node tables (l, r) on the pass's blocking keys.

    With `words` (tables of (rid, w): each record's most informative words of the pass's first weighted
    text), blocks with more than HOT_BLOCK_PAIRS pairs (one amount shared by hundreds of records in the
    window) only pair records that share such a word, so candidates stay linear in the input. `hot`: a
    table of those blocks counted once for the pass (Session.hot_blocks), else counted between l and r."""
    on = [f"l.{key.alias} = r.{key.alias}" for key in plan.keys]
    source = left
    if plan.band is not None:
        source = _probe(left, plan)
        on += [f"l.{probe} = r.{build}" for probe, build in _band_keys(plan)]
    if on and words is not None:
        return _refined_join(plan, left, right, words, hot)
    if on:
        return f"{source} l JOIN {right} r ON {' AND '.join(on)}"
    if plan.tokens is None:
        raise EngineError(f"pass '{plan.name}' has no blocking key")
    if tokens is None:
        raise EngineError(f"pass '{plan.name}': token tables missing")
    pairs = f"""(
        WITH lt AS (SELECT t.rid AS __rid, t.tok FROM {tokens[0]} t SEMI JOIN {left} x ON x.__rid = t.rid),
        rt AS (SELECT t.rid AS __rid, t.tok FROM {tokens[1]} t SEMI JOIN {right} x ON x.__rid = t.rid),
        usable AS (SELECT a.tok FROM (SELECT tok, count(*) AS n FROM lt GROUP BY tok) a
                   JOIN (SELECT tok, count(*) AS n FROM rt GROUP BY tok) b ON a.tok = b.tok
                   WHERE a.n * b.n <= {TOKEN_PAIR_LIMIT})
        SELECT DISTINCT lt.__rid AS __lr, rt.__rid AS __rr FROM lt JOIN rt ON lt.tok = rt.tok
        WHERE lt.tok IN (SELECT tok FROM usable))"""
    return f"{pairs} p JOIN {left} l ON l.__rid = p.__lr JOIN {right} r ON r.__rid = p.__rr"


def _block_keys(plan: PassPlan, left: str, right: str) -> tuple[str, str, str]:
    """(block columns, SELECT of (rid, block) of the left table, of the right one) of a refined join."""
    keys = [key.alias for key in plan.keys]
    source_l, source_r = f"SELECT * FROM {left}", f"SELECT * FROM {right}"
    if plan.band is not None:
        source_l = f"SELECT * FROM {_probe(left, plan)}"
        band_keys = _band_keys(plan)
        renamed = ", ".join(f"{build} AS {probe}" for probe, build in band_keys if probe != build)
        source_r = f"SELECT *, {renamed} FROM {right}"
        keys += [probe for probe, _ in band_keys]
    block = ", ".join(keys)
    return block, f"SELECT __rid, {block} FROM ({source_l})", f"SELECT __rid, {block} FROM ({source_r})"


def _hot_query(plan: PassPlan, left: str, right: str) -> str:
    """The blocks with more than HOT_BLOCK_PAIRS pairs between two tables."""
    block, lk, rk = _block_keys(plan, left, right)
    return f"""
        WITH cl AS (SELECT {block}, count(*) AS n FROM ({lk}) GROUP BY ALL),
        cr AS (SELECT {block}, count(*) AS n FROM ({rk}) GROUP BY ALL)
        SELECT {block} FROM cl JOIN cr USING ({block}) WHERE cl.n * cr.n > {HOT_BLOCK_PAIRS}"""


def _refined_join(
    plan: PassPlan, left: str, right: str, words: tuple[str, str], hot: str | None = None
) -> str:
    """Cold blocks join as they are, hot ones on a shared word too. Both sides drop the hot keys before
    the cold join, in materialized CTEs: DuckDB otherwise moved the anti join above the join and built
    the hot blocks' cross product (842M rows, 120 s on the dense demo's round amounts at 1M)."""
    block, select_l, select_r = _block_keys(plan, left, right)
    hot_blocks = f"SELECT * FROM {hot}" if hot is not None else _hot_query(plan, left, right)
    pairs = f"""(
        WITH lk AS ({select_l}),
        rk AS ({select_r}),
        hot AS ({hot_blocks}),
        lc AS MATERIALIZED (SELECT * FROM lk ANTI JOIN hot USING ({block})),
        rc AS MATERIALIZED (SELECT * FROM rk ANTI JOIN hot USING ({block})),
        cold AS (SELECT lc.__rid AS __lr, rc.__rid AS __rr FROM lc JOIN rc USING ({block})),
        lw AS (SELECT lk.*, w.w FROM (SELECT * FROM lk SEMI JOIN hot USING ({block})) lk
               JOIN {words[0]} w ON w.rid = lk.__rid),
        rw AS (SELECT rk.*, w.w FROM (SELECT * FROM rk SEMI JOIN hot USING ({block})) rk
               JOIN {words[1]} w ON w.rid = rk.__rid),
        warm AS (SELECT DISTINCT lw.__rid AS __lr, rw.__rid AS __rr FROM lw JOIN rw USING ({block}, w))
        SELECT * FROM cold UNION ALL SELECT * FROM warm)"""
    return f"{pairs} p JOIN {left} l ON l.__rid = p.__lr JOIN {right} r ON r.__rid = p.__rr"


@dataclass
class AcrossParts:
    """What the parts of a pass's candidates (Session.candidate_tables: each holds all the candidates of
    its left records) need to know of each other about the right records: whether one has a candidate
    at or above min_score (`kept`), and its best score (`best`, -inf: no candidate)."""

    n_right: int
    kept: BoolArray = field(init=False)
    best: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        self.kept = np.zeros(self.n_right, bool)
        self.best = np.full(self.n_right, -np.inf)

    def fit(self, nodes: IntArray) -> None:
        """Room for these right records (record indexes; the side's size is known to the session)."""
        size = int(nodes.max()) + 1 if len(nodes) else 0
        if size > len(self.kept):
            self.kept = np.concatenate([self.kept, np.zeros(size - len(self.kept), bool)])
            self.best = np.concatenate([self.best, np.full(size - len(self.best), -np.inf)])

    def below(self) -> tuple[IntArray, FloatArray]:
        """Right records that had candidates, all below min_score, and their best score."""
        below = np.flatnonzero(np.isfinite(self.best) & ~self.kept)
        return below.astype(np.int64), self.best[below]


def apply_min_score(
    candidates: PairCandidates, min_score: float, across: AcrossParts | None = None
) -> PairCandidates:
    """Drop candidates scoring below min_score, remembering nodes that only had such candidates.
    `across`: the candidates are a part of the pass's (all the candidates of their left records): the
    right records' are gathered there and reported by the caller once every part is in."""
    keep = candidates.score >= min_score - 1e-12
    result = candidates.subset(keep)
    for side, nodes in (("left", candidates.left), ("right", candidates.right)):
        if len(nodes) == 0:
            continue
        if side == "right" and across is not None:
            across.fit(nodes)
            np.maximum.at(across.best, nodes, candidates.score)
            across.kept[nodes[keep]] = True
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


__all__ = ["AcrossParts", "PairCandidates", "Session", "Side", "order_by_id"]
