"""Each format round-trips the expected rows of a small run through the API (job, storage, download), with
formula-injection neutralisation of text cells in CSV and XLSX and numbers kept as numbers."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from export_helpers import DANGEROUS, Headers, SmallRun, expected_sections, export_and_download
from fastapi.testclient import TestClient

SECTIONS = ("groups", "unmatched", "breaks")


def neutralised(text: str | None) -> str | None:
    if text is None:
        return None
    return "'" + text if text.startswith(DANGEROUS) else text


def _expected(small_run: SmallRun) -> dict[str, list[dict[str, Any]]]:
    return expected_sections(small_run.spec, {small_run.assignee.id: "assignee@example.com"})


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


# -- the tests ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("what", SECTIONS)
@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_each_format_round_trips_the_rows(
    client: TestClient, auth_headers: Headers, small_run: SmallRun, what: str, fmt: str
) -> None:
    headers = auth_headers(small_run.viewer)  # viewers (auditors) may export
    export, data, response_headers = export_and_download(client, headers, small_run.run_id, what, fmt)
    expected = _expected(small_run)[what]
    assert export["rows"] == len(expected) == export["counts"][what]
    assert export["size"] == len(data)
    assert export["sha256"] == hashlib.sha256(data).hexdigest()
    assert response_headers["etag"] == f'"{export["sha256"]}"'
    assert response_headers["content-disposition"] == f'attachment; filename="{export["filename"]}"'
    media = {"csv": "text/csv", "json": "application/x-ndjson", "xlsx": "application/vnd.openxmlformats"}
    assert response_headers["content-type"].startswith(media[fmt])
    if fmt == "csv":
        check_csv(data, expected)
    elif fmt == "json":
        check_jsonl(data, expected)
    else:
        book = load_xlsx(data)
        assert book.sheetnames == [what]
        check_xlsx_sheet(book[what], expected)


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_all_sections_in_one_file(
    client: TestClient, auth_headers: Headers, small_run: SmallRun, fmt: str
) -> None:
    headers = auth_headers(small_run.owner)
    export, data, response_headers = export_and_download(client, headers, small_run.run_id, "all", fmt)
    expected = _expected(small_run)
    assert set(export["counts"]) == {"groups", "unmatched", "breaks", "audit"}
    assert export["rows"] == sum(export["counts"].values())
    assert export["counts"]["audit"] >= 1  # at least this export's own export.created
    if fmt == "xlsx":
        book = load_xlsx(data)
        assert book.sheetnames == ["groups", "unmatched", "breaks", "audit"]
        for what in SECTIONS:
            check_xlsx_sheet(book[what], expected[what])
        return
    assert response_headers["content-type"] == "application/zip"
    assert export["filename"].endswith(".zip")
    extension = "csv" if fmt == "csv" else "jsonl"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == [
            f"{name}.{extension}" for name in ("groups", "unmatched", "breaks", "audit")
        ]
        for what in SECTIONS:
            member = archive.read(f"{what}.{extension}")
            (check_csv if fmt == "csv" else check_jsonl)(member, expected[what])


def test_negative_amounts_stay_numbers_and_text_is_neutralised(
    client: TestClient, auth_headers: Headers, small_run: SmallRun
) -> None:
    """The unmatched L4 has amount -12.50 (a number) and reference '-12.50' (text): only the text changes."""
    headers = auth_headers(small_run.owner)
    _, data, _ = export_and_download(client, headers, small_run.run_id, "unmatched", "csv")
    (l4,) = [row for row in read_csv(data) if row["ext_id"] == "L4"]
    assert (l4["amount"], l4["reference"], l4["counterparty"], l4["description"]) == (
        "-12.50",
        "'-12.50",
        "'@risk",
        "'\tTab",
    )
    _, data, _ = export_and_download(client, headers, small_run.run_id, "unmatched", "xlsx")
    sheet = load_xlsx(data)["unmatched"]
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    for line in sheet.iter_rows(min_row=2):
        row = dict(zip(header, line, strict=False))
        if row["ext_id"].value == "L4":
            assert row["amount"].data_type == "n" and row["amount"].value == -12.5
            assert row["reference"].data_type == "s" and row["reference"].value == "'-12.50"
            assert row["age_days"].value == 3 and row["assignee"].value == "assignee@example.com"
