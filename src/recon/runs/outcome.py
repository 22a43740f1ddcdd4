"""Turn the engine's Reconciliation into the rows of a run: one group per engine group, one item per input
record of either side (rejected ones included), each item mapped back to its dataset record (row_no).

Pure Arrow/NumPy (no database): `build_outcome` is deterministic for the same inputs, so a retried or
re-executed run produces identical rows and the same `digest`.

Why ids and not an extra row-number column through the engine: the engine flags duplicates as records
identical on every column but the id, so any extra column would make every record unique and change the
result. Ids are unique per side (the engine refuses duplicates), so they map back exactly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from recon.engine import EngineError, Reconciliation
from recon.models.runs import TOLERANCE_REASON, GroupKind, GroupStatus, ItemState

SIDES = ("left", "right")
ROW = "_row"
# Item columns copied from the dataset record (canonical names in `load_dataset_arrow`).
RECORD_FIELDS = ("id", "date", "amount", "currency", "reference", "counterparty", "description")
_UNSET = -1


@dataclass(frozen=True)
class SideInput:
    """One side as loaded for the run: the records (with `_row`) and the rejected rows (`_row`, `_reason`)."""

    records: pa.Table
    rejected: pa.Table | None
    id_column: str

    def engine_table(self) -> pa.Table:
        return self.records.drop_columns([ROW])


@dataclass(frozen=True)
class Outcome:
    """groups: seq, pass_name, kind, status, score, explanation (JSON text), left_count, right_count,
    left_total, right_total, difference, writeoff_amount, writeoff_reason, currency.  items: side, row_no,
    ext_id, date, amount, currency, reference,
    counterparty, description, state, reason, detail, group_seq (null: no group)."""

    groups: pa.Table
    items: pa.Table
    digest: str


def _reason_names(records: pa.Table) -> tuple[str, str]:
    """The engine names its columns `reason`/`detail` unless the input has such columns (see engine)."""
    names = set(records.column_names) - {ROW}
    return (
        "reason" if "reason" not in names else "recon_reason",
        "detail" if "detail" not in names else "recon_detail",
    )


def _positions(ids: pa.Array | pa.ChunkedArray, side_ids: pa.Array, what: str) -> npt.NDArray[np.int64]:
    found = pc.index_in(pc.cast(ids, pa.string()), value_set=side_ids)
    if found.null_count:
        missing = pc.filter(ids, pc.is_null(found))[0]
        raise EngineError(f"{what}: id {missing} is not a record of the input")
    return np.asarray(found.to_numpy(zero_copy_only=False), np.int64)


def _spread(values: pa.ChunkedArray | pa.Array, source: npt.NDArray[np.int64]) -> pa.Array:
    """values[source[i]] for each i, null where source[i] < 0 (a `take` with null indices)."""
    indices = pa.array(source, pa.int64(), mask=source < 0)
    return pc.take(values, indices)


def _side_items(
    side: str, data: SideInput, matches: pa.Table, unmatched: pa.Table
) -> tuple[pa.Table, npt.NDArray[np.int64]]:
    """The side's items in file order, and for each the row of `matches` holding it (-1: not matched)."""
    records = data.records
    n = records.num_rows
    side_ids = pc.cast(records.column(data.id_column), pa.string()).combine_chunks()
    reason_name, detail_name = _reason_names(records)
    offered = unmatched.filter(pc.not_equal(unmatched.column(reason_name), "rejected"))
    match_rows = np.flatnonzero(np.asarray(pc.equal(matches.column("side"), side).to_numpy(False), bool))
    # One hash lookup for the matched and the unmatched ids of the side.
    ids = pa.concat_arrays(
        [
            pc.cast(matches.column("id").take(match_rows), pa.string()).combine_chunks(),
            pc.cast(offered.column(data.id_column), pa.string()).combine_chunks(),
        ]
    )
    pos = _positions(ids, side_ids, f"{side} results")
    in_match = np.full(n, _UNSET, np.int64)
    in_unmatched = np.full(n, _UNSET, np.int64)
    in_match[pos[: len(match_rows)]] = match_rows
    in_unmatched[pos[len(match_rows) :]] = np.arange(offered.num_rows)
    seen = np.bincount(pos, minlength=n)
    if len(pos) != n or (seen != 1).any():
        raise EngineError(f"{side}: {int((seen != 1).sum())} records are not in the results exactly once")

    state = _spread(matches.column("status"), in_match)
    state = pc.fill_null(state, ItemState.UNMATCHED)
    table = pa.table(
        {
            "side": pa.repeat(pa.scalar(side), n),
            "row_no": pc.cast(records.column(ROW), pa.int64()),
            **{("ext_id" if f == "id" else f): records.column(f) for f in RECORD_FIELDS},
            "state": state,
            "reason": _spread(pc.cast(offered.column(reason_name), pa.string()), in_unmatched),
            "detail": _spread(pc.cast(offered.column(detail_name), pa.string()), in_unmatched),
            "group_seq": _spread(matches.column("group_id"), in_match),
        }
    )
    rejected = _rejected_items(side, data, table.schema)
    if rejected.num_rows == 0:
        return table, in_match
    table = pa.concat_tables([table, rejected])
    order = np.argsort(table.column("row_no").to_numpy(), kind="stable")
    in_match = np.concatenate([in_match, np.full(rejected.num_rows, _UNSET, np.int64)])[order]
    return table.take(pa.array(order)), in_match


def _rejected_items(side: str, data: SideInput, schema: pa.Schema) -> pa.Table:
    """Ingest-rejected rows: unmatched with reason `rejected`; their values were not parsed (all null)."""
    rejected = data.rejected
    if rejected is None or rejected.num_rows == 0:
        return schema.empty_table()
    n = rejected.num_rows
    columns = {name: pa.nulls(n, schema.field(name).type) for name in schema.names}
    columns["side"] = pa.repeat(pa.scalar(side), n)
    columns["row_no"] = pc.cast(rejected.column(ROW), pa.int64())
    columns["state"] = pa.repeat(pa.scalar(ItemState.UNMATCHED), n)
    columns["reason"] = pa.repeat(pa.scalar("rejected"), n)
    columns["detail"] = pc.cast(rejected.column("_reason"), pa.string())
    return pa.table(columns, schema=schema)


# -- exact money sums on unscaled integers -----------------------------------------------------------------
def _unscaled(amount: pa.ChunkedArray | pa.Array) -> tuple[npt.NDArray[np.int64], int]:
    """Decimal amounts as int64 multiples of 10**-scale (null -> 0); EngineError when one does not fit."""
    array = amount.combine_chunks() if isinstance(amount, pa.ChunkedArray) else amount
    if not pa.types.is_decimal128(array.type):
        raise EngineError(f"amount column must be decimal, not {array.type}")
    words = np.frombuffer(array.buffers()[1], np.int64)[2 * array.offset : 2 * (array.offset + len(array))]
    low, high = words[0::2].copy(), words[1::2]
    if not (high == (low >> 63)).all():
        raise EngineError("an amount is too large for exact group totals (more than 18 digits)")
    if array.null_count:
        low[np.asarray(array.is_null().to_numpy(False), bool)] = 0
    return low, array.type.scale


def _decimals(unscaled: npt.NDArray[np.int64], scale: int) -> pa.Array:
    """int64 multiples of 10**-scale as decimal128(38, scale)."""
    words = np.empty(2 * len(unscaled), np.int64)
    words[0::2], words[1::2] = unscaled, unscaled >> 63
    return pa.Array.from_buffers(pa.decimal128(38, scale), len(unscaled), [None, pa.py_buffer(words)])


def _groups(matches: pa.Table, items: pa.Table, in_match: npt.NDArray[np.int64]) -> pa.Table:
    """One row per engine group (seq 1..G in group order) with counts, totals and the explanation."""
    group_ids = matches.column("group_id").to_numpy()
    first_rows = np.flatnonzero(np.r_[True, group_ids[1:] != group_ids[:-1]] if len(group_ids) else [])
    count = len(first_rows)
    if not np.array_equal(group_ids[first_rows], np.arange(1, count + 1)):
        raise EngineError("engine groups must be numbered 1..n with their members listed together")
    member = in_match >= 0
    seq = group_ids[in_match[member]] - 1
    is_left = np.asarray(pc.equal(items.column("side"), "left").to_numpy(False), bool)[member]
    cents, scale = _unscaled(items.column("amount"))
    cents = cents[member]
    left_count = np.bincount(seq[is_left], minlength=count)
    right_count = np.bincount(seq[~is_left], minlength=count)
    left_total = np.zeros(count, np.int64)
    right_total = np.zeros(count, np.int64)
    np.add.at(left_total, seq[is_left], cents[is_left])
    np.add.at(right_total, seq[~is_left], cents[~is_left])
    # 0 one_to_one, 1 one_to_many, 2 many_to_one, 3 many_to_many
    kind = (left_count > 1).astype(np.int64) * 2 + (right_count > 1)
    kinds = pa.array(
        [
            k.value
            for k in (
                GroupKind.ONE_TO_ONE,
                GroupKind.ONE_TO_MANY,
                GroupKind.MANY_TO_ONE,
                GroupKind.MANY_TO_MANY,
            )
        ]
    )
    firsts = matches.select(["group_id", "pass", "status", "score", "explanation"]).take(pa.array(first_rows))
    difference = left_total - right_total
    # A rule's tolerance may match with a difference: it is written off (reason `tolerance`), never hidden.
    tolerated = np.asarray(pc.equal(firsts.column("status"), GroupStatus.MATCHED).to_numpy(False), bool)
    tolerated &= difference != 0
    writeoff = _decimals(difference, scale).filter(pa.array(tolerated))
    writeoff_amount = _spread(writeoff, np.where(tolerated, np.cumsum(tolerated) - 1, _UNSET))
    writeoff_reason = pc.if_else(pa.array(tolerated), TOLERANCE_REASON, pa.scalar(None, pa.string()))
    return pa.table(
        {
            "seq": firsts.column("group_id"),
            "pass_name": firsts.column("pass"),
            "kind": kinds.take(pa.array(kind)),
            "status": firsts.column("status"),
            "score": firsts.column("score"),
            "explanation": firsts.column("explanation"),
            "left_count": pa.array(left_count, pa.int64()),
            "right_count": pa.array(right_count, pa.int64()),
            "left_total": _decimals(left_total, scale),
            "right_total": _decimals(right_total, scale),
            "difference": _decimals(difference, scale),
            "writeoff_amount": writeoff_amount,
            "writeoff_reason": writeoff_reason,
            "currency": _group_currency(items, member, seq, count),
        }
    )


def _group_currency(
    items: pa.Table, member: npt.NDArray[np.bool_], seq: npt.NDArray[np.int64], count: int
) -> pa.Array:
    """Each group's currency when its members share one (null: none or several; members without a currency
    do not count). On the currencies' dictionary codes in NumPy: a hash aggregation (min and max of the texts
    per group) was ~3.6 s of CPU at 1M x 1M, the largest part of the outcome's groups (docs/adr/0035)."""
    if count == 0:
        return pa.nulls(0, pa.string())
    encoded = pc.dictionary_encode(pc.cast(items.column("currency"), pa.string())).combine_chunks()
    codes = encoded.indices.to_numpy(zero_copy_only=False)[member]
    present = np.asarray(encoded.indices.is_valid().to_numpy(zero_copy_only=False), bool)[member]
    codes, groups = codes[present].astype(np.int64), seq[present]
    chosen = np.full(count, _UNSET, np.int64)
    chosen[groups] = codes  # one member's code per group (any: they must all be equal)
    chosen[groups[codes != chosen[groups]]] = _UNSET  # a member differs: several currencies
    return _spread(encoded.dictionary, chosen)


@dataclass(frozen=True)
class BuiltItems:
    """The first half of an outcome: the items (Outcome.items), and what `finish_outcome` needs for the
    groups. `group_count` is the engine's number of groups (its group ids are 1..group_count)."""

    items: pa.Table
    group_count: int
    matches: pa.Table
    in_match: npt.NDArray[np.int64]


def build_items(result: Reconciliation, inputs: dict[str, SideInput]) -> BuiltItems:
    matches = result.matches.combine_chunks()
    unmatched = {"left": result.unmatched_left, "right": result.unmatched_right}
    parts = [_side_items(s, inputs[s], matches, unmatched[s]) for s in SIDES]
    items = pa.concat_tables([p[0] for p in parts], promote_options="permissive")
    count = pc.max(matches.column("group_id")).as_py() if matches.num_rows else 0
    return BuiltItems(items, int(count or 0), matches, np.concatenate([p[1] for p in parts]))


def finish_outcome(built: BuiltItems) -> Outcome:
    """The groups and the digest (EngineError when the engine's groups are not numbered 1..n)."""
    groups = _groups(built.matches, built.items, built.in_match)
    return Outcome(groups=groups, items=built.items, digest=digest(groups, built.items))


def build_outcome(result: Reconciliation, inputs: dict[str, SideInput]) -> Outcome:
    return finish_outcome(build_items(result, inputs))


# -- digest ------------------------------------------------------------------------------------------------
def _update(hasher: hashlib._Hash, column: pa.ChunkedArray | pa.Array) -> None:
    """Feed one column in a canonical form (nulls marked explicitly; independent of chunking and slicing)."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    hasher.update(np.asarray(array.is_null().to_numpy(zero_copy_only=False), np.bool_).tobytes())
    if pa.types.is_decimal(array.type) or pa.types.is_date(array.type):
        array = pc.cast(array, pa.string())
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        array = pc.cast(pc.fill_null(array, ""), pa.large_string())
        offsets = np.frombuffer(array.buffers()[1], np.int64)[array.offset : array.offset + len(array) + 1]
        hasher.update((offsets - offsets[0]).tobytes() if len(offsets) else b"")
        data = array.buffers()[2]
        if data is not None and len(offsets):
            hasher.update(memoryview(data)[int(offsets[0]) : int(offsets[-1])])
        return
    filler = 0.0 if pa.types.is_floating(array.type) else 0
    hasher.update(np.ascontiguousarray(pc.fill_null(array, filler).to_numpy(zero_copy_only=False)).tobytes())


# What the engine decided. The items' other columns are copies of the dataset records, which the run pins
# by the datasets' sha256; leaving them out keeps the digest cheap at millions of rows.
DIGEST_ITEM_COLUMNS = ("side", "row_no", "state", "reason", "detail", "group_seq")


def digest(groups: pa.Table, items: pa.Table) -> str:
    """sha256 over every column of the groups and the decision columns of the items: two executions have the
    same digest iff they grouped, classified and explained every record the same way."""
    hasher = hashlib.sha256()
    for name, table in (("groups", groups), ("items", items.select(list(DIGEST_ITEM_COLUMNS)))):
        hasher.update(f"{name}:{table.num_rows}:{','.join(table.column_names)}\n".encode())
        for column in table.columns:
            _update(hasher, column)
    return hasher.hexdigest()
