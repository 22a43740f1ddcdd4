"""Columns from Python values, for the formats parsed cell by cell (XLSX, JSON).

A column keeps a native type when all its values agree (int64, decimal, date, timestamp, bool, string);
mixed columns become text, written the way the value would be typed (decimals in plain notation, dates ISO).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal

import pyarrow as pa

from recon.ingest.decimals import MAX_PRECISION

_INT64 = (-(2**63), 2**63 - 1)


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, Decimal):
        return "decimal" if value.is_finite() else "other"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, str):
        return "str"
    return "other"


def as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, default=as_text, ensure_ascii=False)
    return str(value)


def _scale(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _decimals(values: Sequence[object]) -> pa.Array | None:
    numbers = [Decimal(v) if isinstance(v, int | Decimal) else None for v in values]
    scale = max((_scale(v) for v in numbers if v is not None), default=0)
    quantum = Decimal(1).scaleb(-scale)
    exact = [None if v is None else v.quantize(quantum) for v in numbers]
    if any(len(v.as_tuple().digits) > MAX_PRECISION for v in exact if v is not None):
        return None
    return pa.array(exact, pa.decimal128(MAX_PRECISION, scale))


def _fits_int64(values: Sequence[object]) -> bool:
    return all(_INT64[0] <= v <= _INT64[1] for v in values if isinstance(v, int))


def _timestamp(value: object) -> object:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    return value


def column(values: Sequence[object]) -> pa.Array:
    """One Arrow column: native when every value has the same kind, else text."""
    kinds = {_kind(v) for v in values if v is not None}
    if not kinds:
        return pa.nulls(len(values), pa.string())
    if kinds == {"int"} and _fits_int64(values):
        return pa.array(values, pa.int64())
    if kinds <= {"int", "decimal"}:
        decimals = _decimals(values)
        if decimals is not None:
            return decimals
    if kinds == {"date"}:
        return pa.array(values, pa.date32())
    if kinds <= {"date", "datetime"}:
        return pa.array([_timestamp(v) for v in values], pa.timestamp("us"))
    if kinds == {"bool"}:
        return pa.array(values, pa.bool_())
    return pa.array([None if v is None else as_text(v) for v in values], pa.string())


def table(names: Sequence[str], records: Sequence[Sequence[object]]) -> pa.Table:
    """A table from row-major values (each record as long as `names`)."""
    columns = list(zip(*records, strict=True)) if records else [() for _ in names]
    return pa.table({name: column(list(values)) for name, values in zip(names, columns, strict=True)})
