"""Reconciliation results: output tables, unmatched reasons, invariant checks, summary and writing.

matches: one row per group member, ordered by group_id, side (left first), id: group_id (1..N in pass
  order, then by the group's smallest left id), pass, status (matched|suggested|break), side, id, score
  (the group's), explanation (the group's JSON, see recon.engine.explain) -- stored once per group, on the
  group's first row; null on its other rows.
unmatched_left / unmatched_right: the input columns plus reason (no_candidate|below_min_score|ambiguous|
  duplicate|rejected) and detail (nullable text: best score, tie, first copy, ingest problem); records in
  id order, then rejected rows in file order. (If the input has columns named reason/detail, the added
  columns are recon_reason/recon_detail.)

summary (summary.json without "inputs"/"elapsed_s", which the caller adds):
  engine_version, rules {name, sha256},
  left/right {rows, matched, suggested, break, unmatched, rejected, duplicate, amount_column,
              amounts {total, matched, suggested, break, unmatched, rejected}}   -- counts are records;
              rows = matched + suggested + break + unmatched + rejected; unmatched includes duplicates;
              amounts are decimal strings of the side's amount column (null when it has none),
  passes [{name, kind, groups, left, right, matched, suggested, break}]   -- left/right are records, the
              status figures are groups,
  unmatched_reasons {left: {reason: records}, right: {...}}, checks {exactly_once, control_totals}.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from recon.engine.arrays import IntArray
from recon.engine.backend import Backend, HeldSide, SideTotals
from recon.engine.errors import EngineError, InputError
from recon.engine.executor import ALIAS, Side
from recon.engine.passes import AMBIGUOUS, BELOW_MIN_SCORE, STATUS_NAMES, PassResult, Reasons
from recon.engine.rules import RuleSet

REASONS = ("no_candidate", "below_min_score", "ambiguous", "duplicate", "rejected")
UNMATCHED = 3  # status code of unmatched records (after matched/suggested/break)
STATUS_KEYS = ("matched", "suggested", "break", "unmatched")
MATCH_SCHEMA = pa.schema(
    [
        ("group_id", pa.int64()),
        ("pass", pa.string()),
        ("status", pa.string()),
        ("side", pa.string()),
        ("id", pa.string()),
        ("score", pa.float64()),
        ("explanation", pa.string()),
    ]
)


@dataclass
class Reconciliation:
    """The outcome of a reconcile. `matches` is made on demand from its parts (one per pass): the
    explanations stay compressed until then, and write() streams them a slice at a time."""

    parts: list[MatchPart]
    unmatched_left: pa.Table
    unmatched_right: pa.Table
    summary: dict[str, Any]

    @property
    def matches(self) -> pa.Table:
        tables = [table for part in self.parts for table in part.batches()]
        return pa.concat_tables(tables) if tables else MATCH_SCHEMA.empty_table()

    def write(
        self, out_dir: str | Path, fmt: str = "parquet", extra_summary: dict[str, Any] | None = None
    ) -> None:
        """Write summary.json, matches, unmatched_left, unmatched_right (parquet or csv); deterministic."""
        if fmt not in ("parquet", "csv"):
            raise ValueError(f"unknown output format '{fmt}' (parquet or csv)")
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        _write_batches(out / f"matches.{fmt}", MATCH_SCHEMA, self._match_batches(), fmt)
        for name, table in (
            ("unmatched_left", self.unmatched_left),
            ("unmatched_right", self.unmatched_right),
        ):
            _write_batches(out / f"{name}.{fmt}", table.schema, iter([table]), fmt)
        summary = {**self.summary, **(extra_summary or {})}
        (out / "summary.json").write_text(
            json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )

    def _match_batches(self) -> Iterator[pa.Table]:
        for part in self.parts:
            yield from part.batches()


ROW_GROUP = 1 << 20  # rows per Parquet row group of the outputs
WRITE_BATCH = 1 << 18  # rows of matches gathered before a write (they arrive a slice of groups at a time)


def _write_batches(path: Path, schema: pa.Schema, tables: Iterator[pa.Table], fmt: str) -> None:
    """Write tables of one schema to one file, holding at most WRITE_BATCH rows of matches at once."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    writer: Any = (
        pq.ParquetWriter(path, schema, compression="zstd")
        if fmt == "parquet"
        else pacsv.CSVWriter(path, schema)
    )
    pending: list[pa.Table] = []
    rows = 0

    def flush() -> None:
        nonlocal pending, rows
        if pending:
            table = pa.concat_tables(pending)
            if fmt == "parquet":
                writer.write_table(table, row_group_size=ROW_GROUP)
            else:
                writer.write_table(table)
        pending, rows = [], 0

    try:
        for table in tables:
            if table.num_rows > WRITE_BATCH:
                flush()
                pending, rows = [table], table.num_rows
                flush()
                continue
            pending.append(table)
            rows += table.num_rows
            if rows >= WRITE_BATCH:
                flush()
        flush()
    finally:
        writer.close()


@dataclass(frozen=True)
class MatchPart:
    """The rows of `matches` of one pass (group ids from offset + 1), made a slice of groups at a time."""

    result: PassResult
    offset: int
    ids: pa.Array  # ids of the left records, then those of the right ones
    n_left: int

    def batches(self) -> Iterator[pa.Table]:
        result = self.result
        first = 0
        for texts in result.explanation_slices():
            last = first + len(texts)
            lo, hi = np.searchsorted(result.group, [first, last])
            group, side, rid = result.group[lo:hi], result.side[lo:hi], result.rid[lo:hi]
            source = rid + side.astype(np.int64) * self.n_left
            yield pa.table(
                [
                    pa.array(group + self.offset + 1, pa.int64()),
                    pa.repeat(pa.scalar(result.spec.name, pa.string()), len(group)),
                    pa.array(STATUS_NAMES, pa.string()).take(pa.array(result.status[group])),
                    pa.array(["left", "right"], pa.string()).take(pa.array(side)),
                    self.ids.take(pa.array(source)),
                    pa.array(result.score[group], pa.float64()),
                    first_row_only(texts, group - first),
                ],
                schema=MATCH_SCHEMA,
            )
            first = last
        if first != result.groups:
            raise EngineError(f"pass '{result.spec.name}': {first} explanations for {result.groups} groups")


@dataclass
class Outcome:
    """Everything the passes produced, ready to be turned into a Reconciliation."""

    rules: RuleSet
    sides: dict[str, Side]
    rejected: dict[str, pa.Table | None]
    results: list[PassResult]
    reasons: Reasons
    duplicates: dict[str, tuple[IntArray, IntArray]]

    def n_rejected(self, side: str) -> int:
        table = self.rejected[side]
        return table.num_rows if table is not None else 0


def build(outcome: Outcome, engine_version: str, backend: Backend | None = None) -> Reconciliation:
    """The results; `backend`: where the sides are held, asked for the checks' figures (Backend.totals:
    the Spark backend computes them in Spark; DuckDB's leaves them to the driver's arrays)."""
    parts, status = _matches(outcome.sides, outcome.results)
    unmatched = {side: _unmatched(outcome, side, status[side]) for side in ("left", "right")}
    held = _held_totals(outcome, backend)
    checks = _check(outcome, status, unmatched, held)
    summary: dict[str, Any] = {
        "engine_version": engine_version,
        "rules": {"name": outcome.rules.name, "sha256": outcome.rules.sha256},
    }
    for side in ("left", "right"):
        summary[side] = _side_summary(outcome, side, status[side], unmatched[side], held[side])
    summary["passes"] = [_pass_summary(result) for result in outcome.results]
    summary["unmatched_reasons"] = {
        side: _reason_counts(unmatched[side], _reason_column(outcome.sides[side].table))
        for side in ("left", "right")
    }
    summary["checks"] = checks
    return Reconciliation(parts, unmatched["left"], unmatched["right"], summary)


def _matches(
    sides: dict[str, Side], results: list[PassResult]
) -> tuple[list[MatchPart], dict[str, npt.NDArray[np.int8]]]:
    status = {side: np.full(sides[side].n, UNMATCHED, np.int8) for side in ("left", "right")}
    all_ids = pa.concat_arrays([sides["left"].ids, sides["right"].ids])
    offset = 0
    parts: list[MatchPart] = []
    for result in results:
        member_status = result.status[result.group]
        for code, side in ((0, "left"), (1, "right")):
            mine = result.side == code
            if (status[side][result.rid[mine]] != UNMATCHED).any():
                raise EngineError(
                    f"pass '{result.spec.name}' reused a {side} record matched by an earlier pass"
                )
            status[side][result.rid[mine]] = member_status[mine]
        if len(result.group) and (np.diff(result.group) < 0).any():
            raise EngineError(f"pass '{result.spec.name}': members are not in group order")
        parts.append(MatchPart(result, offset, all_ids, sides["left"].n))
        offset += result.groups
    return parts, status


def first_row_only(per_group: pa.Array, group: IntArray) -> pa.Array:
    """Per member row: the group's text on its first row, null on the others (no bytes are copied)."""
    values = per_group.cast(pa.large_string()) if not pa.types.is_large_string(per_group.type) else per_group
    offsets = np.frombuffer(values.buffers()[1], np.int64, count=len(values) + 1, offset=values.offset * 8)
    first = np.r_[True, group[1:] != group[:-1]] if len(group) else np.zeros(0, bool)
    row_offsets = np.empty(len(group) + 1, np.int64)
    row_offsets[0] = offsets[group[0]] if len(group) else 0
    row_offsets[1:] = offsets[group + 1]
    validity = first & ~np.asarray(pc.is_null(values).to_numpy(zero_copy_only=False), bool)[group]
    mask = pa.array(validity).buffers()[1]
    array = pa.LargeStringArray.from_buffers(
        len(group), pa.py_buffer(row_offsets), values.buffers()[2], mask, int(len(group) - validity.sum())
    )
    return array.cast(pa.string()) if len(group) and row_offsets[-1] < 2**31 else array


def _reason_column(table: pa.Table) -> tuple[str, str]:
    names = set(table.column_names)
    reason = "reason" if "reason" not in names else "recon_reason"
    detail = "detail" if "detail" not in names else "recon_detail"
    return reason, detail


def _unmatched(outcome: Outcome, side_name: str, status: npt.NDArray[np.int8]) -> pa.Table:
    side, reasons = outcome.sides[side_name], outcome.reasons
    rids = np.flatnonzero(status == UNMATCHED)
    level = reasons.level[side_name][rids]
    reason = np.array(REASONS, dtype=object)[level]
    detail = np.full(len(rids), None, dtype=object)
    names = [spec.name for spec in outcome.rules.passes]
    mins = [spec.min_score for spec in outcome.rules.passes]
    for k in np.flatnonzero(level == BELOW_MIN_SCORE).tolist():
        index = int(reasons.pass_index[side_name][rids[k]])
        best = reasons.best[side_name][rids[k]]
        detail[k] = f"best score {best:.4f} < min_score {mins[index]} in pass '{names[index]}'"
    book = reasons.details[side_name]
    for k in np.flatnonzero(level == AMBIGUOUS).tolist():
        index = int(reasons.pass_index[side_name][rids[k]])
        known = book.get(int(rids[k]))
        if known is None:
            detail[k] = (
                f"lost a tie or near-tie (within the margin) for its best candidate in pass '{names[index]}'"
            )
        else:
            rival = outcome.sides[known.rival_side].ids[known.rival_rid].as_py()
            detail[k] = known.text.replace("{rival}", str(rival))
    dup_rids, first = outcome.duplicates[side_name]
    position = np.searchsorted(rids, dup_rids)
    reason[position] = "duplicate"
    first_ids = side.ids.take(pa.array(first)).to_pylist()
    for k, first_id in zip(position.tolist(), first_ids, strict=True):
        detail[k] = f"duplicate of {first_id}"
    reason_name, detail_name = _reason_column(side.table)
    table = side.table.take(pa.array(rids))
    table = table.append_column(reason_name, pa.array(reason.tolist(), pa.string()))
    table = table.append_column(detail_name, pa.array(detail.tolist(), pa.string()))
    rejected = outcome.rejected[side_name]
    if rejected is not None and rejected.num_rows:
        table = pa.concat_tables([table, _rejected_rows(side, rejected, (reason_name, detail_name))])
    return table.combine_chunks()


def _rejected_rows(side: Side, rejected: pa.Table, names: tuple[str, str]) -> pa.Table:
    columns = []
    for field in side.table.schema:
        if field.name in rejected.column_names:
            try:
                columns.append(rejected.column(field.name).cast(field.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                message = f"{side.name} rejected rows: column '{field.name}' cannot be {field.type}: {exc}"
                raise InputError(message) from None
        else:
            columns.append(pa.nulls(rejected.num_rows, field.type))
    n = rejected.num_rows
    rows = rejected.column("_row").to_pylist() if "_row" in rejected.column_names else [None] * n
    why = rejected.column("_reason").to_pylist() if "_reason" in rejected.column_names else [None] * n
    detail = [f"row {row}: {text}" if row is not None else text for row, text in zip(rows, why, strict=True)]
    order = np.argsort(np.array([row if row is not None else -1 for row in rows]), kind="stable")
    table = pa.table(columns, schema=side.table.schema)
    table = table.append_column(names[0], pa.array(["rejected"] * n, pa.string()))
    table = table.append_column(names[1], pa.array(detail, pa.string()))
    return table.take(pa.array(order))


def _held_totals(outcome: Outcome, backend: Backend | None) -> dict[str, SideTotals | None]:
    """Both sides' figures from the backend that holds them, in one job (None: computed here from the
    arrays)."""
    if backend is None:
        return {"left": None, "right": None}

    def members() -> pa.Table:
        sides, rids, statuses = [np.zeros(0, np.int8)], [np.zeros(0, np.int64)], [np.zeros(0, np.int8)]
        for result in outcome.results:
            sides.append(result.side.astype(np.int8))
            rids.append(result.rid)
            statuses.append(result.status[result.group].astype(np.int8))
        return pa.table(
            {"side": np.concatenate(sides), "rid": np.concatenate(rids), "status": np.concatenate(statuses)}
        )

    held = {side: HeldSide(ALIAS[side], _exact_amount_column(outcome, side)) for side in ("left", "right")}
    totals = backend.totals(held, members)
    return {side: totals.get(side) if totals is not None else None for side in ("left", "right")}


def _exact_amount_column(outcome: Outcome, side: str) -> str | None:
    """The amount column a backend may sum: decimals and integers (exact in any order); a float column's
    sum depends on the order of the additions, so it is summed here as always."""
    column = outcome.rules.amount_column(side)
    table = outcome.sides[side].table
    if column is None or column not in table.column_names:
        return None
    kind = table.schema.field(column).type
    return column if pa.types.is_decimal(kind) or pa.types.is_integer(kind) else None


def _check(
    outcome: Outcome,
    status: dict[str, npt.NDArray[np.int8]],
    unmatched: dict[str, pa.Table],
    held: dict[str, SideTotals | None],
) -> dict[str, bool]:
    """Every record exactly once (matches + unmatched) and counts that add up; EngineError if not."""
    problems = []
    for code, side in ((0, "left"), (1, "right")):
        n = outcome.sides[side].n
        expected = n + outcome.n_rejected(side)
        totals = held[side]
        if totals is not None:  # counted where the side is held
            if totals.not_once:
                problems.append(f"{side}: {totals.not_once} records not present exactly once")
            listed = totals.listed + outcome.n_rejected(side)
            if listed != expected:
                problems.append(f"{side}: {listed} output rows for {expected} input records")
            continue
        seen = (status[side] == UNMATCHED).astype(np.int64)
        for result in outcome.results:
            seen += np.bincount(result.rid[result.side == code], minlength=n)
        if not (seen == 1).all():
            problems.append(f"{side}: {int((seen != 1).sum())} records not present exactly once")
        # the rows `matches` will hold of this side: one per member (MatchPart.batches)
        members = sum(int((result.side == code).sum()) for result in outcome.results)
        listed = members + unmatched[side].num_rows
        if listed != expected:
            problems.append(f"{side}: {listed} output rows for {expected} input records")
    if problems:
        raise EngineError("exactly-once check failed: " + "; ".join(problems))
    return {"exactly_once": True, "control_totals": True}


def _sum(values: pa.Array | pa.ChunkedArray) -> Any:
    """Exact sum (Decimal for decimals) of the non-null values; zero of the same kind when there are none."""
    total = pc.sum(values).as_py()
    if total is not None:
        return total
    if pa.types.is_decimal(values.type):
        return Decimal(0).scaleb(-values.type.scale)  # "0.00" for a decimal(38, 2) column
    return 0


def _side_summary(
    outcome: Outcome,
    side: str,
    status: npt.NDArray[np.int8],
    unmatched: pa.Table,
    held: SideTotals | None = None,
) -> dict[str, Any]:
    """Counts and amount totals per status; raises EngineError when they do not add up to the input.
    `held`: the counts and sums computed where the side is held (Backend.totals)."""
    data, rejected = outcome.sides[side], outcome.rejected[side]
    counts = np.bincount(status, minlength=4) if held is None else np.array(held.records)
    reason_name, _ = _reason_column(data.table)
    figures: dict[str, Any] = {"rows": data.n + outcome.n_rejected(side)}
    for code, key in enumerate(STATUS_KEYS):
        figures[key] = int(counts[code])
    figures["rejected"] = outcome.n_rejected(side)
    figures["duplicate"] = int(pc.sum(pc.equal(unmatched.column(reason_name), "duplicate")).as_py() or 0)
    if sum(figures[key] for key in (*STATUS_KEYS, "rejected")) != figures["rows"]:
        raise EngineError(f"control totals of {side}: status counts do not add up to {figures['rows']} rows")
    column = outcome.rules.amount_column(side)
    if (
        column is None
        or column not in data.table.column_names
        or not _summable(data.table.schema.field(column).type)
    ):
        figures["amount_column"], figures["amounts"] = None, None
        return figures
    values = data.table.column(column)
    zero = _sum(values.slice(0, 0))
    if held is not None and held.amounts is not None:
        amounts = {key: _typed(held.amounts[code], zero) for code, key in enumerate(STATUS_KEYS)}
        side_total = _typed(held.total, zero)
    else:
        amounts = {key: _sum(values.filter(pa.array(status == code))) for code, key in enumerate(STATUS_KEYS)}
        side_total = _sum(values)
    amounts["rejected"] = zero
    if rejected is not None and column in rejected.column_names:
        amounts["rejected"] = _sum(rejected.column(column).cast(values.type))
    total = side_total + amounts["rejected"]
    if sum(amounts.values(), start=_sum(values.slice(0, 0))) != total:
        raise EngineError(f"control totals of {side} do not add up: {amounts} vs total {total}")
    figures["amount_column"] = column
    figures["amounts"] = {"total": str(total), **{key: str(value) for key, value in amounts.items()}}
    return figures


def _typed(value: Any, zero: Any) -> Any:
    """A backend's sum as the driver's _sum gives it: the zero of the column's kind for no values, a
    decimal at the column's scale (a backend may widen it)."""
    if value is None:
        return zero
    if isinstance(zero, Decimal):
        return Decimal(value).quantize(zero)
    return value


def _summable(data_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_decimal(data_type) or pa.types.is_integer(data_type) or pa.types.is_floating(data_type)
    )


def _pass_summary(result: PassResult) -> dict[str, Any]:
    counts = np.bincount(result.status, minlength=3)
    return {
        "name": result.spec.name,
        "kind": result.spec.kind,
        "groups": result.groups,
        "left": int((result.side == 0).sum()),
        "right": int((result.side == 1).sum()),
        "matched": int(counts[0]),
        "suggested": int(counts[1]),
        "break": int(counts[2]),
    }


def _reason_counts(unmatched: pa.Table, names: tuple[str, str]) -> dict[str, int]:
    counts = pc.value_counts(unmatched.column(names[0])).to_pylist() if unmatched.num_rows else []
    found = {item["values"]: int(item["counts"]) for item in counts}
    return {reason: found.get(reason, 0) for reason in REASONS}
