from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recon.ingest import IngestError, read_file

from .helpers import rows_of, schema_of


@pytest.fixture
def parquet_file(tmp_path: Path) -> Path:
    table = pa.table(
        {
            "id": pa.array(["P1", "P2", "P3"], pa.large_string()),
            "amount": pa.array([Decimal("1.50"), Decimal("-2.25"), None], pa.decimal128(12, 2)),
            "fx": pa.array([0.1, 1.1, 3.0], pa.float64()),
            "currency": pa.array(["EUR", "USD", "EUR"]).dictionary_encode(),
            "posted": pa.array([dt.date(2024, 1, 5), dt.date(2024, 1, 6), dt.date(2024, 1, 7)]),
            "meta": pa.array([{"a": 1, "b": "x"}, {"a": 2, "b": None}, {"a": None, "b": "z"}]),
            "at": pa.array(
                [dt.datetime(2024, 1, 5, 23, 59), None, dt.datetime(2024, 1, 7)], pa.timestamp("ms")
            ),
            "ref": pa.array(["10", "x", "30"]),
        }
    )
    path = tmp_path / "data.parquet"
    pq.write_table(table, path)
    return path


def test_native_types_are_kept_and_flattened(parquet_file: Path) -> None:
    result = read_file(parquet_file)
    assert result.format == "parquet"
    assert schema_of(result.table) == {
        "id": "string",
        "amount": "decimal128(12, 2)",
        "fx": "double",
        "currency": "string",
        "posted": "date32[day]",
        "meta.a": "int64",
        "meta.b": "string",
        "at": "timestamp[ms]",
        "ref": "string",
    }


def test_hints_convert_native_columns(parquet_file: Path) -> None:
    types = {"amount": "decimal", "fx": "decimal", "at": "date", "meta.a": "string", "ref": "integer"}
    result = read_file(parquet_file, types=types)
    assert schema_of(result.table)["fx"] == "decimal128(38, 1)"
    assert rows_of(result.table.select(["id", "amount", "fx", "at", "meta.a", "ref"])) == [
        ["P1", "1.50", "0.1", "2024-01-05", "1", 10],
        ["P3", None, "3.0", "2024-01-07", None, 30],
    ]
    assert [(e.row, e.line, e.column, e.value) for e in result.errors] == [(2, None, "ref", "x")]


def test_not_parquet(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 truncated")
    with pytest.raises(IngestError, match=r"broken\.parquet: not a readable Parquet file"):
        read_file(path)
