"""Entries to one Arrow table: the canonical columns, then the format's raw columns (a fixed list per
format, so a format always gives the same schema). Built in batches so Python objects never pile up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa

from recon.ingest.statements.model import Entry

# One record's columns as the engine reads a side (recon.datasets.bulk loads stored datasets the same way).
RECORD_COLUMNS = (
    "id",
    "date",
    "value_date",
    "amount",
    "currency",
    "reference",
    "counterparty",
    "description",
)
# A statement entry adds where it was booked.
CANONICAL_COLUMNS = (*RECORD_COLUMNS, "account", "statement_id")
BATCH_ROWS = 65_536
_MAX_SCALE = 18


def columns_of(raw_columns: Sequence[str]) -> list[str]:
    return [*CANONICAL_COLUMNS, *raw_columns]


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _scale(amount: Decimal) -> int:
    exponent = amount.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


class TableBuilder:
    def __init__(self, raw_columns: Sequence[str]) -> None:
        self.raw_columns = list(raw_columns)
        self._batches: list[tuple[pa.Array, ...]] = []
        self._scales: list[int] = []
        self._reset()

    def _reset(self) -> None:
        self._rows: list[list[Any]] = [[] for _ in range(len(CANONICAL_COLUMNS) + len(self.raw_columns))]
        self._scale = 0

    def add(self, entry: Entry, number: int) -> None:
        statement = entry.statement
        values = (
            f"{statement.id}/{number}",
            entry.booking_date,
            entry.value_date,
            entry.amount,
            entry.currency,
            entry.reference,
            entry.counterparty,
            entry.description,
            statement.account,
            statement.id,
        )
        rows = self._rows
        for column, value in zip(rows, values, strict=False):
            column.append(value)
        offset = len(CANONICAL_COLUMNS)
        raw = entry.raw
        for i, name in enumerate(self.raw_columns):
            rows[offset + i].append(_text(raw.get(name)))
        self._scale = max(self._scale, _scale(entry.amount))
        if len(rows[0]) >= BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._rows[0]:
            return
        scale = min(self._scale, _MAX_SCALE)
        arrays: list[pa.Array] = []
        for index, values in enumerate(self._rows):
            name = CANONICAL_COLUMNS[index] if index < len(CANONICAL_COLUMNS) else ""
            if name in ("date", "value_date"):
                arrays.append(pa.array(values, pa.date32()))
            elif name == "amount":
                arrays.append(pa.array(values, pa.decimal128(38, scale)))
            else:
                arrays.append(pa.array(values, pa.string()))
        self._batches.append(tuple(arrays))
        self._scales.append(scale)
        self._reset()

    def table(self) -> pa.Table:
        self._flush()
        names = columns_of(self.raw_columns)
        scale = max(self._scales, default=0)
        amount_at = CANONICAL_COLUMNS.index("amount")
        schema = pa.schema(
            [
                pa.field(
                    name,
                    pa.date32()
                    if name in ("date", "value_date")
                    else pa.decimal128(38, scale)
                    if name == "amount"
                    else pa.string(),
                )
                for name in names
            ]
        )
        batches = []
        for arrays in self._batches:
            columns = list(arrays)
            columns[amount_at] = columns[amount_at].cast(pa.decimal128(38, scale))
            batches.append(pa.RecordBatch.from_arrays(columns, schema=schema))
        return pa.Table.from_batches(batches, schema=schema)
