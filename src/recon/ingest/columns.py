"""Typing shared by every format: turn the raw columns named in the type hints into decimal, date, integer
or string, recording the cells that fail instead of dropping or coercing them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from recon.ingest.cells import Failure, Parsed, as_array, failure, trimmed_text
from recon.ingest.dates import parse_date_text
from recon.ingest.decimals import MAX_PRECISION, parse_decimal_text
from recon.ingest.errors import IngestError, did_you_mean
from recon.ingest.options import ReadOptions

TYPES = ("decimal", "date", "integer", "string")
_INTEGER = r"^[+-]?0*\d{1,18}$"


def check_types(types: Mapping[str, str] | None) -> dict[str, str]:
    checked: dict[str, str] = {}
    for column, kind in (types or {}).items():
        if kind not in TYPES:
            hint = did_you_mean(kind, TYPES) if isinstance(kind, str) else ""
            raise IngestError(
                f"unknown type {kind!r}, expected one of {', '.join(TYPES)}{hint}", column=column
            )
        checked[column] = kind
    return checked


def _float_text(values: pa.Array) -> pa.Array:
    # Shortest round-trip repr, so 0.1 stays "0.1"; "f" spells out exponents ("1e-05" -> "0.00001").
    return pa.array(
        [None if v is None else format(Decimal(repr(v)), "f") for v in values.to_pylist()], pa.string()
    )


def to_text(values: pa.Array) -> pa.Array:
    """The cells as strings (lossless for the types parsers produce)."""
    kind = values.type
    if pa.types.is_string(kind):
        return values
    if pa.types.is_floating(kind):
        return _float_text(values)
    try:
        return pc.cast(values, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return pa.array([None if v is None else str(v) for v in values.to_pylist()], pa.string())


def parse_integer_text(values: pa.Array) -> Parsed:
    text = trimmed_text(values)
    ok = pc.fill_null(pc.match_substring_regex(text, _INTEGER), True)
    bad = pc.invert(ok)
    clean = pc.replace_substring_regex(pc.if_else(bad, None, text), r"^\+", "")
    reason = "is not a whole number (or is beyond 18 digits)"
    return Parsed(pc.cast(clean, pa.int64()), failure(pc.and_(bad, pc.is_valid(text)), reason))


def _decimal(values: pa.Array, options: ReadOptions) -> Parsed:
    kind = values.type
    if pa.types.is_integer(kind):
        return Parsed(pc.cast(values, pa.decimal128(MAX_PRECISION, 0)))
    if pa.types.is_decimal(kind) and kind.precision <= MAX_PRECISION:
        return Parsed(pc.cast(values, pa.decimal128(MAX_PRECISION, max(kind.scale, 0))))
    if pa.types.is_string(kind):
        return parse_decimal_text(values, options.decimal, options.thousands)
    return parse_decimal_text(to_text(values))  # native numbers print with '.' and no grouping


def _date(values: pa.Array, options: ReadOptions) -> Parsed:
    kind = values.type
    if pa.types.is_date32(kind):
        return Parsed(values)
    if pa.types.is_date64(kind) or pa.types.is_timestamp(kind):
        return Parsed(pc.cast(values, pa.date32(), safe=False))
    return parse_date_text(to_text(values), options.date_format, options.dayfirst)


def _integer(values: pa.Array) -> Parsed:
    if pa.types.is_integer(values.type):
        try:
            return Parsed(pc.cast(values, pa.int64()))
        except pa.ArrowInvalid:
            pass  # uint64 beyond int64: report per cell
    return parse_integer_text(to_text(values))


def convert(values: pa.Array | pa.ChunkedArray, kind: str, options: ReadOptions) -> Parsed:
    """One column converted to `kind` (see TYPES)."""
    array = as_array(values)
    if kind == "decimal":
        return _decimal(array, options)
    if kind == "date":
        return _date(array, options)
    if kind == "integer":
        return _integer(array)
    return Parsed(to_text(array))


@dataclass(slots=True)
class Typed:
    """The table after typing: every column, failed cells per column, and what auto detection chose."""

    table: pa.Table
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    detected: dict[str, str] = field(default_factory=dict)


def _empty_id(values: pa.Array) -> pa.Array:
    if pa.types.is_string(values.type):
        return pc.fill_null(pc.equal(pc.utf8_trim_whitespace(values), ""), True)
    return pc.is_null(values)


def apply_types(
    table: pa.Table, types: Mapping[str, str], options: ReadOptions, id_column: str | None = None
) -> Typed:
    """Convert the columns named in `types` (present in `table`); check that `id_column` is never empty."""
    out = Typed(table)
    # One new table at the end: `set_column` per column copies the schema each time (quadratic in columns).
    arrays: list[pa.Array | pa.ChunkedArray] = list(table.columns)
    index = {name: i for i, name in enumerate(table.column_names)}
    for name, kind in types.items():
        parsed = convert(table[name], kind, options)
        arrays[index[name]] = parsed.values
        if parsed.failures:
            out.failures[name] = list(parsed.failures)
        if parsed.note is not None:
            out.detected[f"date_format.{name}"] = parsed.note
    if types:
        out.table = pa.Table.from_arrays(arrays, names=table.column_names)
    if id_column is not None:
        empty = failure(_empty_id(as_array(table[id_column])), "is empty (every record needs an id)")
        out.failures.setdefault(id_column, []).extend(empty)
    return out
