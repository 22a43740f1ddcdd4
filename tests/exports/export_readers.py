"""Readers of export files and checks of their rows against `export_helpers.expected_sections`, written
independently of recon.exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from typing import Any

import openpyxl
from export_helpers import DANGEROUS


def neutralised(text: str | None) -> str | None:
    if text is None:
        return None
    return "'" + text if text.startswith(DANGEROUS) else text


def _check_opened_at(rows: list[dict[str, Any]], expected: list[dict[str, Any]], *, empty: Any) -> None:
    """`opened_at` is a timestamp: present exactly when the expectation has a days-ago number."""
    for row, want in zip(rows, expected, strict=True):
        opened = row.pop("opened_at", empty)
        assert (opened not in (None, "")) == (want.get("opened_at") is not None), (row, want)


# -- CSV ----------------------------------------------------------------------------------------------------
def csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return neutralised(value) or ""
    return str(value)


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert not data.startswith(b"\xef\xbb\xbf"), "no BOM"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def check_csv(data: bytes, expected: list[dict[str, Any]]) -> None:
    rows = read_csv(data)
    _check_opened_at(rows, expected, empty="")
    want = [{k: csv_text(v) for k, v in row.items() if k != "opened_at"} for row in expected]
    assert rows == want


# -- JSON lines ---------------------------------------------------------------------------------------------
def json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def check_jsonl(data: bytes, expected: list[dict[str, Any]]) -> None:
    rows = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    _check_opened_at(rows, expected, empty=None)
    want = [{k: json_value(v) for k, v in row.items() if k != "opened_at"} for row in expected]
    assert rows == want  # text exactly as stored: JSON is not neutralised


# -- XLSX ---------------------------------------------------------------------------------------------------
def xlsx_value(value: Any) -> Any:
    if isinstance(value, str):  # XML stores line ends as LF
        return (neutralised(value) or "").replace("\r", "\n")
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return value


def read_sheet(sheet: Any) -> tuple[list[dict[str, Any]], list[list[Any]]]:
    """(rows as dicts with Decimal amounts from their number cells, the raw cells of the data rows)."""
    cells = list(sheet.iter_rows())
    header = [cell.value for cell in cells[0]]
    rows, raw = [], []
    for line in cells[1:]:
        row: dict[str, Any] = dict.fromkeys(header)  # trailing empty cells are not stored
        for name, cell in zip(header, line, strict=False):
            value = cell.value
            if name in ("amount", "difference", "writeoff_amount") and value is not None:
                assert cell.data_type == "n", f"{name} must be a number cell, got {value!r}"
                assert cell.number_format == "#,##0.00"
                value = Decimal(repr(float(value)))
            row[name] = value
        rows.append(row)
        raw.append(list(line))
    return rows, raw


def check_xlsx_sheet(sheet: Any, expected: list[dict[str, Any]]) -> None:
    rows, raw = read_sheet(sheet)
    for line in raw:
        for cell in line:
            assert cell.data_type != "f", f"formula cell {cell.coordinate}: {cell.value!r}"
            if cell.data_type == "s" and cell.value:
                assert not str(cell.value).startswith(DANGEROUS), cell.value
    _check_opened_at(rows, expected, empty=None)
    want = [{k: xlsx_value(v) for k, v in row.items() if k != "opened_at"} for row in expected]
    assert rows == want


def load_xlsx(data: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(data), read_only=True)
