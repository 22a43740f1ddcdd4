from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from recon.ingest import IngestError, ReadOptions, read_file

from .helpers import rows_of, schema_of


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    """A bank export: a cover sheet, then "Data" with a title row, gaps, mixed cells and a stray value."""
    book = openpyxl.Workbook()
    book.active.title = "Cover"
    book.active["A1"] = "nothing to see"
    sheet = book.create_sheet("Data")
    sheet.append(["Bank export 2024-01"])
    sheet.append(["id", "date", "amount", "memo", "booked_at"])
    sheet.append(["A1", dt.datetime(2024, 1, 5), 12.1, "first", dt.datetime(2024, 1, 5, 10, 30)])
    sheet.append([])
    sheet.append(["A2", dt.datetime(2024, 1, 6), 5, None, dt.datetime(2024, 1, 6)])
    sheet.append(["A3", "2024-01-07", 0.25, "third", None])
    sheet.append(["A4", dt.datetime(2024, 1, 8), "abc", "x", None])
    sheet.append(["A5", dt.datetime(2024, 1, 9), 1, "m", None, "stray"])
    path = tmp_path / "export.xlsx"
    book.save(path)
    return path


def test_sheet_with_title_row_gaps_and_errors(workbook: Path) -> None:
    options = ReadOptions.from_mapping({"sheet": "Data", "skip_rows": 1})
    result = read_file(workbook, options=options, types={"amount": "decimal", "date": "date"}, id_column="id")

    assert result.format == "xlsx"
    assert schema_of(result.table) == {
        "id": "string",
        "date": "date32[day]",
        "amount": "decimal128(38, 2)",
        "memo": "string",
        "booked_at": "timestamp[us]",
    }
    assert rows_of(result.table) == [
        ["A1", "2024-01-05", "12.10", "first", "2024-01-05T10:30:00"],
        ["A2", "2024-01-06", "5.00", None, "2024-01-06T00:00:00"],
        ["A3", "2024-01-07", "0.25", "third", None],
    ]
    assert [(e.row, e.line, e.column, e.value, e.reason) for e in result.errors] == [
        (4, 7, "amount", "abc", "'abc' is not a decimal (decimal '.', no thousands separator)"),
        (5, 8, None, "A5, 2024-01-09, 1, m, , stray", "has 1 value(s) beyond the 5 header columns"),
    ]
    assert result.rejected["_row"].to_pylist() == [4, 5]
    assert result.rows_read == 5


def test_native_types_without_hints(workbook: Path) -> None:
    result = read_file(workbook, options=ReadOptions(sheet=2, skip_rows=1))
    # amount mixes numbers and text, so it stays text (numbers written exactly); date mixes dates and text.
    assert result.table["amount"].to_pylist() == ["12.1", "5", "0.25", "abc"]
    assert result.table["date"].to_pylist() == ["2024-01-05", "2024-01-06", "2024-01-07", "2024-01-08"]


def test_numbers_are_exact_decimals(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["n", "whole", "when"])
    for value, whole, when in [
        (12.1, 1, dt.date(2024, 1, 5)),
        (1 / 3, 2, dt.date(2024, 2, 29)),
        (-3.5, 3, None),
    ]:
        book.active.append([value, whole, when])
    path = tmp_path / "n.xlsx"
    book.save(path)
    result = read_file(path)
    # Decimal(repr(x)): the shortest text that round-trips the stored double, never its binary expansion
    # (Decimal(12.1) would be 12.0999999999999996447...).
    assert result.table["n"].to_pylist() == [
        Decimal("12.1000000000000000"),
        Decimal("0.3333333333333333"),
        Decimal("-3.5000000000000000"),
    ]
    assert schema_of(result.table) == {"n": "decimal128(38, 16)", "whole": "int64", "when": "date32[day]"}


def test_sheet_selection_errors(workbook: Path) -> None:
    with pytest.raises(
        IngestError, match=r"no sheet 'data' \(sheets: Cover, Data\) \(did you mean 'Data'\?\)"
    ):
        read_file(workbook, options=ReadOptions(sheet="data"))
    with pytest.raises(IngestError, match="there is no sheet 3; the workbook has 2"):
        read_file(workbook, options=ReadOptions(sheet=3))


def test_header_problems_and_no_header(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["id", None, "amount"])
    book.active.append([1, 2, 3])
    path = tmp_path / "gap.xlsx"
    book.save(path)
    with pytest.raises(IngestError, match=r"gap\.xlsx: the header row has an empty column name in column B"):
        read_file(path)
    result = read_file(path, options=ReadOptions(header=False))
    assert result.table.column_names == ["column1", "column2", "column3"]
    assert result.table["column3"].to_pylist() == ["amount", "3"]


def test_workbook_xml_is_parsed_with_defusedxml() -> None:
    from openpyxl import xml

    assert xml.DEFUSEDXML  # openpyxl switches to defusedxml (entity-expansion safe) when it is installed


def test_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(IngestError, match=r"fake\.xlsx: not a readable XLSX workbook"):
        read_file(path)
