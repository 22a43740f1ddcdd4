"""Helpers for the ingest tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"


def plain(value: Any) -> Any:
    """JSON-comparable form of a cell: decimals and dates as text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def rows_of(table: pa.Table) -> list[list[Any]]:
    return [[plain(v) for v in row.values()] for row in table.to_pylist()]


def schema_of(table: pa.Table) -> dict[str, str]:
    return {field.name: str(field.type) for field in table.schema}
