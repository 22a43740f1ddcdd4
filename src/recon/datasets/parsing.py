"""From a stored file to canonical records: probe the columns, resolve the mapping, read through
`recon.ingest` with the mapped columns typed, and lay the accepted rows out as an Arrow table shaped like
`dataset_records` (the `extra` column already JSON text, so the bulk writers do no per-row Python work)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from recon.datasets.mapping import CANONICAL_FIELDS, ResolvedMapping, resolve_mapping
from recon.ingest import IngestError, IngestResult, ReadOptions, RowError, read_bytes, read_file
from recon.ingest.limits import LimitExceeded
from recon.ingest.statements import StatementSummary, is_statement_format, statement_format
from recon.ingest.statements.table import columns_of

# NUMERIC(38, 10): 28 integer digits and 10 decimal places.
STORED_SCALE = 10
MAX_AMOUNT = Decimal(10) ** 28
PROBE_BYTES = 1 << 20
VALUE_MAX_CHARS = 2000  # a rejected cell or broken record is stored shortened to this
RECORD_COLUMNS = ("row_no", *CANONICAL_FIELDS, "extra")
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"


@dataclass(frozen=True)
class ParsedDataset:
    records: pa.Table  # columns RECORD_COLUMNS; date32 dates, decimal128 amount, string text, extra JSON text
    rejections: list[RowError]
    rejected_rows: int
    rows_read: int
    mapping: ResolvedMapping
    source_columns: list[str]
    amount_scale: int | None
    detected: dict[str, str]
    # {field: {"column", "empty", "unparseable"}} for every mapped field (see `column_stats`)
    column_stats: dict[str, dict[str, Any]]
    statements: tuple[StatementSummary, ...] = ()  # bank statement formats: the file's statements


def probe_columns(path: Path, *, filename: str, fmt: str, options: ReadOptions) -> list[str]:
    """The file's column names (after the sign convention) without typing the whole file."""
    if is_statement_format(fmt):  # bank statements: the canonical columns and the format's raw ones
        return columns_of(statement_format(fmt).raw_columns)
    if fmt == "parquet":
        names = list(pq.read_schema(path).names)
        spec = options.amount
        if spec is not None and spec.debit in names and spec.credit in names:  # ingest adds credit - debit
            names.insert(min(names.index(spec.debit), names.index(spec.credit)), spec.column)
        return names
    if fmt == "csv":
        with path.open("rb") as handle:
            head = csv_head(handle, options)
        return _csv_columns(head, filename, options)
    return list(read_file(path, options=options, format=fmt).table.column_names)


def _csv_columns(head: bytes, filename: str, options: ReadOptions) -> list[str]:
    return list(read_bytes(head, filename=filename, options=options, format="csv").table.column_names)


def csv_head(handle: BinaryIO, options: ReadOptions, *, rows: int | None = None) -> bytes:
    """The first PROBE_BYTES of a CSV cut after its last whole line (or after the header and `rows` more
    lines), read further when the skipped lines and the header do not fit (a header is never cut: it is
    read whole or refused by max_row_bytes)."""
    needed = options.skip_rows + 1
    limit = PROBE_BYTES + options.limits.max_row_bytes * needed
    head = handle.read(PROBE_BYTES)
    while head.count(b"\n") < needed and len(head) <= limit:
        more = handle.read(PROBE_BYTES)
        if not more:
            return head
        head += more
    if rows is not None:
        cut = _first_lines(head, needed + rows)
        if len(cut) < len(head):
            return cut
    if not handle.read(1):
        return head
    if head.count(b"\n") < needed:
        raise LimitExceeded(
            "max_row_bytes",
            options.limits.max_row_bytes,
            f"the header line is longer than {options.limits.max_row_bytes:,} bytes",
            line=needed,
        )
    return head[: head.rfind(b"\n") + 1]


def _first_lines(data: bytes, count: int) -> bytes:
    end = -1
    for _ in range(count):
        end = data.find(b"\n", end + 1)
        if end < 0:
            return data
    return data[: end + 1]


def parse_dataset(
    path: Path,
    *,
    filename: str,
    fmt: str,
    options: ReadOptions,
    requested: Mapping[str, str],
) -> ParsedDataset:
    """Read the file into canonical records. Raises IngestError / MappingError for whole-file problems."""
    columns = probe_columns(path, filename=filename, fmt=fmt, options=options)

    def read(types: Mapping[str, str], id_column: str | None) -> IngestResult:
        return read_file(path, options=options, types=types, format=fmt, id_column=id_column)

    return _parse(columns, options, requested, read)


def parse_csv_head(
    head: bytes, *, filename: str, options: ReadOptions, requested: Mapping[str, str]
) -> ParsedDataset:
    """`parse_dataset` for the first lines of a CSV (`csv_head`): what a mapping would make of them."""
    columns = _csv_columns(head, filename, options)

    def read(types: Mapping[str, str], id_column: str | None) -> IngestResult:
        return read_bytes(
            head, filename=filename, options=options, types=types, format="csv", id_column=id_column
        )

    return _parse(columns, options, requested, read)


def _parse(
    columns: list[str],
    options: ReadOptions,
    requested: Mapping[str, str],
    read: Callable[[Mapping[str, str], str | None], IngestResult],
) -> ParsedDataset:
    if options.amount is not None and "amount" not in requested and options.amount.column in columns:
        # The sign convention names the signed column it builds: that is the amount unless mapped otherwise.
        requested = {**requested, "amount": options.amount.column}
    resolved = resolve_mapping(requested, columns)
    types = resolved.types | {column: "string" for column in resolved.extra}
    result = read(types, resolved.fields["ext_id"])
    table = result.table
    rejected_rows = [int(r) for r in result.rejected.column("_row").to_pylist()]
    row_no = _accepted_row_numbers(result.rows_read, rejected_rows, table.num_rows)
    errors = [_shortened(e) for e in result.errors]
    amount_column = resolved.fields.get("amount")
    amount_scale: int | None = None
    if amount_column is not None:
        amount = _combined(table.column(amount_column))
        amount_scale = amount.type.scale
        bad_rows = _amount_out_of_range(amount, row_no)
        if bad_rows:
            keep = pc.invert(pc.is_in(row_no, pa.array(sorted(bad_rows), pa.int64())))
            errors = _merge(errors, bad_rows, amount_column, amount, row_no)
            rejected_rows = sorted(set(rejected_rows) | set(bad_rows))
            table, row_no = table.filter(keep), row_no.filter(keep)
            amount_scale = min(amount_scale, STORED_SCALE)
    records = _records(table, row_no, resolved)
    return ParsedDataset(
        records=records,
        rejections=errors,
        rejected_rows=len(rejected_rows),
        rows_read=result.rows_read,
        mapping=resolved,
        source_columns=table.column_names,
        amount_scale=amount_scale,
        detected=dict(result.detected),
        statements=result.statements,
        column_stats=column_stats(records, resolved, errors, options),
    )


def _sources(field: str, column: str, options: ReadOptions) -> set[str]:
    """The file columns a field's values come from (the debit/credit/indicator columns of the amount)."""
    spec = options.amount
    if field == "amount" and spec is not None and column == spec.column:
        return {c for c in (spec.column, spec.debit, spec.credit, spec.indicator) if c}
    return {column}


def column_stats(
    records: pa.Table, mapping: ResolvedMapping, errors: list[RowError], options: ReadOptions
) -> dict[str, dict[str, Any]]:
    """Per mapped field: its column, how many accepted records have no value (empty) and how many rows were
    rejected for a bad value in it (unparseable)."""
    stats: dict[str, dict[str, Any]] = {}
    for field, column in mapping.fields.items():
        sources = _sources(field, column, options)
        bad_rows = {e.row for e in errors if e.column in sources}
        stats[field] = {
            "column": column,
            "empty": int(records.column(field).null_count),
            "unparseable": len(bad_rows),
        }
    return stats


def amount_problem(parsed: ParsedDataset, options: ReadOptions, max_empty_ratio: float) -> str | None:
    """Why the amounts cannot be used (None: they can): no amount column at all, or more than
    `max_empty_ratio` of the rows with an empty or unparseable amount. The message names what to fix."""
    rows = parsed.rows_read
    if rows == 0:
        return None
    how = (
        "map the signed amount column with mapping.amount, or describe the sign in read_options.amount: "
        '{"debit": "<debit column>", "credit": "<credit column>"} builds amount = credit - debit (add '
        '"invert": true, or "debit_sign": "positive", for debit - credit, e.g. a ledger\'s bank account '
        'where a debit is money in); {"column": "<amount>", "indicator": "<D/C column>"} signs an unsigned '
        'amount by a debit/credit flag; {"column": "<amount>", "invert": true} flips a signed one'
    )
    stats = parsed.column_stats.get("amount")
    columns = ", ".join(parsed.source_columns)
    if stats is None:
        if max_empty_ratio >= 1:
            return None  # the project takes data without amounts
        return (
            f"mapping.amount: no amount column was found or mapped (columns: {columns}); {how}; data without "
            "amounts (e.g. master data) needs the project setting max_empty_amount_ratio: 1"
        )
    unusable = stats["empty"] + stats["unparseable"]
    if unusable == 0 or unusable <= max_empty_ratio * rows:
        return None
    return (
        f"mapping.amount: column {stats['column']!r} has no usable amount in {unusable} of {rows} rows "
        f"({stats['empty']} empty, {stats['unparseable']} unparseable; at most {max_empty_ratio:.0%} "
        "allowed, "
        f"project setting max_empty_amount_ratio); columns: {columns}; {how}"
    )


def _accepted_row_numbers(rows_read: int, rejected: list[int], accepted: int) -> pa.Array:
    """Data row numbers of the accepted records: 1..rows_read without the rejected ones, in file order."""
    keep = np.ones(rows_read + 1, dtype=bool)
    keep[0] = False
    keep[np.asarray(rejected, dtype=np.int64)] = False
    numbers = np.nonzero(keep)[0].astype(np.int64)
    if len(numbers) != accepted:  # the ingest contract: rows are numbered 1..rows_read without gaps
        raise IngestError(f"row numbering mismatch: {len(numbers)} row numbers for {accepted} records")
    return pa.array(numbers, pa.int64())


def _combined(column: pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)


def _amount_out_of_range(amount: pa.Array, row_no: pa.Array) -> dict[int, str]:
    """Rows whose amount NUMERIC(38, 10) cannot hold exactly: more than 10 decimal places (only possible
    when the column's scale is above 10) or 28+ integer digits (only when it is below 10). Vectorised."""
    scale = amount.type.scale
    if scale > STORED_SCALE:
        mask, reason = (
            pc.not_equal(pc.round(amount, STORED_SCALE), amount),
            f"has more than {STORED_SCALE} decimal places",
        )
    elif scale < STORED_SCALE:
        limit = pa.scalar(MAX_AMOUNT, amount.type)
        mask, reason = (
            pc.greater_equal(pc.abs(amount), limit),
            "is too large (at most 28 digits before the decimal point)",
        )
    else:
        return {}
    rows = pc.filter(row_no, pc.fill_null(mask, False)).to_pylist()
    return dict.fromkeys(rows, reason)


def _merge(
    errors: list[RowError], bad: dict[int, str], column: str, amount: pa.Array, row_no: pa.Array
) -> list[RowError]:
    values = dict(zip(row_no.to_pylist(), amount.to_pylist(), strict=True))
    added = [
        RowError(row, column, str(values[row]), f"'{values[row]}' {reason}") for row, reason in bad.items()
    ]
    return sorted(errors + added, key=lambda e: e.row)


def _shortened(error: RowError) -> RowError:
    if error.value is None or len(error.value) <= VALUE_MAX_CHARS:
        return error
    return RowError(error.row, error.column, error.value[:VALUE_MAX_CHARS] + "…", error.reason, error.line)


def _clean_text(values: pa.Array) -> pa.Array:
    """PostgreSQL text cannot hold NUL; it becomes U+FFFD (the replacement character)."""
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.string())
    return pc.replace_substring(values, "\x00", "\ufffd")


def _records(table: pa.Table, row_no: pa.Array, mapping: ResolvedMapping) -> pa.Table:
    n = table.num_rows
    arrays: dict[str, pa.Array] = {"row_no": row_no}
    for field in CANONICAL_FIELDS:
        column = mapping.fields.get(field)
        if field in ("date", "value_date"):
            arrays[field] = _combined(table.column(column)) if column else pa.nulls(n, pa.date32())
        elif field == "amount":
            arrays[field] = _combined(table.column(column)) if column else pa.nulls(n, pa.decimal128(38, 0))
        else:
            arrays[field] = (
                _clean_text(_combined(table.column(column))) if column else pa.nulls(n, pa.string())
            )
    arrays["extra"] = extra_json(table, mapping.extra)
    return pa.table(arrays)


def _json_string(values: pa.Array) -> pa.Array:
    """Each value as a JSON string literal ('"..."'), null as the literal null."""
    text = pc.replace_substring(values, "\\", "\\\\")
    for raw, escaped in (('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        text = pc.replace_substring(text, raw, escaped)
    if pc.any(pc.match_substring_regex(text, _CONTROL)).as_py():
        quoted = pa.array([None if v is None else json.dumps(v) for v in values.to_pylist()], pa.string())
    else:
        quoted = pc.binary_join_element_wise('"', text, '"', "")
    return pc.fill_null(quoted, "null")


def extra_json(table: pa.Table, columns: list[str]) -> pa.Array:
    """The unmapped columns of each row as a JSON object text ({"col": "value" | null, ...}).

    Vectorised over the cells of a block of rows at once (not column by column), so the cost is linear in
    rows x columns with a handful of compute calls whatever the number of columns."""
    n = table.num_rows
    if not columns:
        return pa.nulls(n, pa.string())
    block = max(1, _EXTRA_BLOCK_CELLS // len(columns))
    parts = [_extra_block(table.slice(start, block), columns) for start in range(0, n, block)]
    return pa.concat_arrays(parts) if parts else pa.array([], pa.string())


_EXTRA_BLOCK_CELLS = 1 << 20


def _extra_block(table: pa.Table, columns: list[str]) -> pa.Array:
    """One block of rows: the cells laid out row-major, each prefixed with its quoted key, joined per row."""
    n, width = table.num_rows, len(columns)
    cells = pa.concat_arrays([_clean_text(_combined(table.column(c))) for c in columns])  # column-major
    row_major = np.arange(n * width, dtype=np.int64).reshape(width, n).T.ravel()
    values = _json_string(cells.take(pa.array(row_major)))
    keys = pa.array(np.tile(np.array([json.dumps(c) + ":" for c in columns], dtype=object), n), pa.string())
    members = pc.binary_join_element_wise(keys, values, "")
    offsets = pa.array(np.arange(0, n * width + 1, width, dtype=np.int64))
    joined = pc.binary_join(pa.LargeListArray.from_arrays(offsets, members), ",")
    return pc.cast(pc.binary_join_element_wise("{", joined, "}", ""), pa.string())
