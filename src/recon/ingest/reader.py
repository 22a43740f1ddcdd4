"""read_file / read_bytes: parse, type, apply the sign convention, split accepted from rejected records."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from recon.ingest import columns, mapping, registry
from recon.ingest.cells import as_array
from recon.ingest.errors import IngestError, RowError, did_you_mean
from recon.ingest.limits import IngestLimits, LimitExceeded, check_columns, check_rows
from recon.ingest.options import ReadOptions
from recon.ingest.parsers.csv import check_names
from recon.ingest.raw import RawTable
from recon.ingest.statements.integrity import StatementSummary


@dataclass(frozen=True, eq=False)
class IngestResult:
    """The outcome of reading one file.

    table: accepted records, columns in file order; hinted columns typed (decimal128(38, s), date32, int64,
    string), other columns as the format gives them (text formats: string). rejected: one row per rejected
    record with the same columns (failed cells null) plus `_row` (1-based data row: header and blank lines
    not counted) and `_reason` (every problem of the record). errors: one RowError per failed cell or broken
    record, in row order, with `line` (where the record starts in the file) when the format knows it.
    detected: what was sniffed or auto-detected (encoding, delimiter, date_format.<column>, ...).
    """

    table: pa.Table
    rejected: pa.Table
    errors: list[RowError]
    rows_read: int
    sha256: str
    format: str
    detected: dict[str, str] = field(default_factory=dict)
    statements: tuple[StatementSummary, ...] = ()  # bank statement formats only (see RawTable)


def read_file(
    path: str | os.PathLike[str],
    *,
    options: ReadOptions | None = None,
    types: Mapping[str, str] | None = None,
    format: str | None = None,
    id_column: str | None = None,
) -> IngestResult:
    """Read a file; see `read_bytes`."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read the file: {exc.strerror or exc}", file=str(file)) from exc
    return read_bytes(
        data, filename=str(file), options=options, types=types, format=format, id_column=id_column
    )


def read_bytes(
    data: bytes,
    *,
    filename: str,
    options: ReadOptions | None = None,
    types: Mapping[str, str] | None = None,
    format: str | None = None,
    id_column: str | None = None,
) -> IngestResult:
    """Parse `data` (named `filename` in errors; its extension helps choose the format).

    `types` maps columns to "decimal" | "date" | "integer" | "string"; keys that are not columns of the file
    are ignored. A cell of a typed column that cannot be converted rejects its record. With `id_column`, a
    record whose id is empty is rejected too. Whole-file problems raise IngestError.
    """
    options = options or ReadOptions()
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(lambda: hashlib.sha256(data).hexdigest())  # hashlib releases the GIL
        try:
            hints = columns.check_types(types)
            parser = registry.choose(data, filename, format)
            raw = parser.parse(data, options)
            result = _result(raw, format=parser.name, options=options, hints=hints, id_column=id_column)
        except IngestError as exc:
            raise exc.with_file(filename) from exc.__cause__
        except UnicodeError as exc:  # e.g. a lone surrogate from an escape: permanent, never retried
            raise IngestError(
                f"the file holds text that is not valid Unicode ({type(exc).__name__})", file=filename
            ) from exc
        except RecursionError as exc:
            raise IngestError("the file nests data too deeply to read", file=filename) from exc
        return replace(result, sha256=digest.result())


def _result(
    raw: RawTable,
    *,
    format: str,
    options: ReadOptions,
    hints: dict[str, str],
    id_column: str | None,
) -> IngestResult:
    names = raw.table.column_names
    present = set(names)  # membership per hint: a list would make this quadratic in the columns
    check_bounds(raw, options.limits)
    check_names(names)
    mapping.check_columns(options.amount, names)
    if id_column is not None and id_column not in names:
        raise IngestError(f"the id column {id_column!r} is not in the file{did_you_mean(id_column, names)}")
    wanted = {name: kind for name, kind in hints.items() if name in present} | mapping.source_types(
        options.amount
    )
    typed = columns.apply_types(raw.table, wanted, options, id_column)
    mapping.apply_amount(typed, options.amount)
    table, rejected, errors = _split(raw, typed)
    return IngestResult(
        table=_one_chunk(table),
        rejected=rejected,
        errors=errors,
        rows_read=table.num_rows + rejected.num_rows,
        sha256="",
        format=format,
        detected=raw.detected | typed.detected,
        statements=raw.statements,
    )


def _one_chunk(table: pa.Table) -> pa.Table:
    """Every column in one chunk (text parsers give one per block): the engine takes columns whole, and
    combining them there kept a second copy of each column it used while the first was still held."""
    if all(column.num_chunks <= 1 for column in table.columns):
        return table
    columns = [c if c.num_chunks == 1 else pa.chunked_array([c.combine_chunks()]) for c in table.columns]
    return pa.Table.from_arrays(columns, schema=table.schema)


def check_bounds(raw: RawTable, limits: IngestLimits) -> None:
    """Columns, rows, bytes per cell and per row of what any parser produced (parsers that stream also
    check as they go, to stop early). Text columns only: native numbers and dates are small."""
    table = raw.table
    check_columns(table.num_columns, limits)
    check_rows(table.num_rows + len(raw.broken), limits)
    if table.num_rows == 0 or table.nbytes <= min(limits.max_cell_bytes, limits.max_row_bytes):
        return
    row_bytes = np.zeros(table.num_rows, dtype=np.int64)
    for name, column in zip(table.column_names, table.columns, strict=True):
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        lengths = np.asarray(pc.fill_null(pc.binary_length(as_array(column)), 0), dtype=np.int64)
        _check_largest(raw, lengths, "max_cell_bytes", limits.max_cell_bytes, "a cell", column=name)
        row_bytes += lengths
    _check_largest(raw, row_bytes, "max_row_bytes", limits.max_row_bytes, "a row")


def _check_largest(
    raw: RawTable,
    sizes: npt.NDArray[np.int64],
    limit: str,
    allowed: int,
    what: str,
    *,
    column: str | None = None,
) -> None:
    """LimitExceeded naming the row (and column) of the largest of `sizes` when it is above `allowed`."""
    if sizes.max(initial=0) > allowed:
        at = int(sizes.argmax())
        raise LimitExceeded(
            limit, allowed, f"{what} holds {int(sizes[at]):,} bytes", row=_row_number(raw, at), column=column
        )


def _row_number(raw: RawTable, index: int) -> int:
    return int(raw.rows[index].as_py()) if raw.rows is not None else index + 1


def _split(raw: RawTable, typed: columns.Typed) -> tuple[pa.Table, pa.Table, list[RowError]]:
    table = typed.table
    rows = raw.rows if raw.rows is not None else pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    errors = [
        RowError(row=b.row, column=None, value=b.text, reason=b.reason, line=b.line) for b in raw.broken
    ]
    masks = [f.mask for name in table.column_names for f in typed.failures.get(name, [])]
    if not masks and not errors:
        return table, _with_meta(table.slice(0, 0), pa.array([], pa.int64()), []), []
    bad = masks[0] if masks else pa.array(np.zeros(table.num_rows, dtype=bool))
    for mask in masks[1:]:
        bad = pc.or_(bad, mask)
    where = pc.indices_nonzero(bad)
    for name in table.column_names:
        for failed in typed.failures.get(name, []):
            at = pc.indices_nonzero(failed.mask)
            texts = columns.to_text(pc.take(as_array(raw.table[name]), at)).to_pylist()
            for row, text in zip(pc.take(rows, at).to_pylist(), texts, strict=True):
                reason = failed.reason if not text or not text.strip() else f"{text!r} {failed.reason}"
                errors.append(RowError(row=row, column=name, value=text, reason=reason))
    order = {name: i for i, name in enumerate(table.column_names)}
    errors.sort(key=lambda e: (e.row, -1 if e.column is None else order.get(e.column, len(order))))
    errors = _with_lines(raw, errors)
    cells = _null_failed_cells(table, typed).take(where)
    broken = pa.Table.from_arrays(
        [pa.nulls(len(raw.broken), f.type) for f in table.schema], schema=table.schema
    )
    rejected_rows = pc.take(rows, where).to_pylist() + [b.row for b in raw.broken]
    rejected = _with_meta(pa.concat_tables([cells, broken]), pa.array(rejected_rows, pa.int64()), errors)
    rejected = rejected.sort_by("_row")
    return table.filter(pc.invert(bad)), rejected, errors


def _null_failed_cells(table: pa.Table, typed: columns.Typed) -> pa.Table:
    positions = {name: i for i, name in enumerate(table.column_names)}
    for name, failures in typed.failures.items():
        index = positions[name]
        for failed in failures:
            values = table.column(index)
            table = table.set_column(
                index, name, pc.if_else(failed.mask, pa.scalar(None, values.type), values)
            )
    return table


def _with_lines(raw: RawTable, errors: list[RowError]) -> list[RowError]:
    missing = sorted({e.row for e in errors if e.line is None})
    if not missing or raw.lines_of is None:
        return errors
    lines = raw.lines_of(missing)
    return [
        e if e.line is not None else RowError(e.row, e.column, e.value, e.reason, lines.get(e.row))
        for e in errors
    ]


def _with_meta(table: pa.Table, rows: pa.Array, errors: list[RowError]) -> pa.Table:
    reasons: dict[int, list[str]] = {}
    for error in errors:
        reasons.setdefault(error.row, []).append(
            f"{error.column}: {error.reason}" if error.column else error.reason
        )
    text = pa.array(["; ".join(reasons.get(r, [])) for r in rows.to_pylist()], pa.string())
    if table.num_columns == 0:  # e.g. a JSON array without a single object: no columns to carry the rows
        return pa.table({"_row": rows, "_reason": text})
    return table.append_column("_row", rows).append_column("_reason", text)
