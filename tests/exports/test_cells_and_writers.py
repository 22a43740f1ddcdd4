"""Cells (neutralisation, exact amounts) and writers (XLSX sheets past Excel's row limit, ZIP bundles)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import openpyxl
import pytest
from export_helpers import DANGEROUS
from hypothesis import given
from hypothesis import strategies as st

from recon.exports import cells, writers
from recon.exports.cells import csv_cell, json_value, money_text, neutralise, xlsx_money, xlsx_text


@pytest.mark.parametrize("prefix", DANGEROUS)
def test_every_dangerous_prefix_is_neutralised(prefix: str) -> None:
    payload = prefix + "cmd|' /C calc'!A0"
    assert neutralise(payload) == "'" + payload
    assert csv_cell(payload) == "'" + payload
    assert xlsx_text(payload).startswith("'")


@pytest.mark.parametrize("text", ["INV-1", "", " =1+1", "'quoted", "1-2", "a=b", "\n=1", "Ünïcode"])
def test_harmless_text_is_unchanged(text: str) -> None:
    assert neutralise(text) == text


def test_numbers_are_never_neutralised() -> None:
    assert csv_cell(Decimal("-12.5")) == "-12.50"
    assert csv_cell(-3) == "-3" and csv_cell(-0.5) == "-0.5"
    assert xlsx_money(Decimal("-12.5")) == (Decimal("-12.50"), "#,##0.00")
    assert json_value("=1+1") == "=1+1"  # JSON is not opened by spreadsheets: unchanged


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("-12.5000000000", "-12.50"),
        ("7", "7.00"),
        ("0.125", "0.125"),
        ("1E+3", "1000.00"),
        ("-0.0000000001", "-0.0000000001"),
        ("123456789012345678.1234567891", "123456789012345678.1234567891"),
    ],
)
def test_money_text_is_exact_fixed_point(value: str, text: str) -> None:
    assert money_text(Decimal(value)) == text


def test_xlsx_amounts_are_numbers_only_when_a_double_holds_them() -> None:
    assert xlsx_money(Decimal("1234567890123.45")) == (Decimal("1234567890123.45"), "#,##0.00")
    assert xlsx_money(Decimal("0.125")) == (Decimal("0.125"), "#,##0.000")
    assert xlsx_money(Decimal("12345678901234.567")) == ("12345678901234.567", None)  # 17 digits: text


@given(st.decimals(min_value=-(10**13), max_value=10**13, places=2, allow_nan=False, allow_infinity=False))
def test_number_cells_round_trip_exactly(value: Decimal) -> None:
    cell, number_format = xlsx_money(value)
    assert number_format is not None
    # openpyxl writes numbers with "%.16g"; a reader reads back a double
    assert Decimal(repr(float("%.16g" % cell))) == value  # noqa: UP031


def test_xlsx_text_limits() -> None:
    assert xlsx_text("a\x00b\x1fc") == "a\ufffdb\ufffdc"
    assert xlsx_text("one\r\ntwo\rthree") == "one\ntwo\nthree"
    long = xlsx_text("x" * 40_000)
    assert len(long) == cells.XLSX_MAX_CELL_CHARS and long.endswith(cells.XLSX_TRUNCATION_MARK)


def test_csv_cells_of_every_type() -> None:
    moment = dt.datetime(2024, 1, 31, 12, 0, tzinfo=dt.UTC)
    assert csv_cell(None) == "" and csv_cell(True) == "true"
    assert csv_cell(dt.date(2024, 1, 31)) == "2024-01-31"
    assert csv_cell(moment) == "2024-01-31T12:00:00+00:00"
    assert csv_cell({"b": 1, "a": "x"}) == '{"a":"x","b":1}'
    with pytest.raises(ValueError, match="timezone-aware"):
        csv_cell(dt.datetime(2024, 1, 31))


def test_xlsx_continues_on_a_new_sheet_past_the_row_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writers, "XLSX_MAX_ROWS", 4)  # header + 3 rows per sheet
    book = writers.XlsxBook()
    rows = [(i, Decimal(i).scaleb(-2), f"=x{i}") for i in range(8)]
    assert book.add_section("groups", ("n", "amount", "text"), rows) == 8
    out = io.BytesIO()
    book.save(out)
    loaded = openpyxl.load_workbook(io.BytesIO(out.getvalue()), read_only=True)
    assert loaded.sheetnames == ["groups", "groups (2)", "groups (3)"]
    values = []
    for name in loaded.sheetnames:
        sheet_rows = list(loaded[name].iter_rows(values_only=True))
        assert sheet_rows[0] == ("n", "amount", "text")
        values.extend(sheet_rows[1:])
    assert [v[0] for v in values] == list(range(8))
    assert values[5] == (5, 0.05, "'=x5")


def test_long_amounts_are_exact_text_in_xlsx() -> None:
    book = writers.XlsxBook()
    book.add_section("unmatched", ("amount",), [(Decimal("-12345678901234567.89"),)])
    out = io.BytesIO()
    book.save(out)
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue()), read_only=True)["unmatched"]
    (row,) = list(sheet.iter_rows(min_row=2))
    assert row[0].data_type == "s" and row[0].value == "-12345678901234567.89"


def test_csv_and_jsonl_writers() -> None:
    rows = [("L1", Decimal("-1.5"), dt.date(2024, 2, 1), None, "+x"), ("L2", Decimal("0"), None, 0.5, "y\nz")]
    columns = ("ext_id", "amount", "date", "score", "text")
    out = io.BytesIO()
    assert writers.write_csv(out, columns, rows) == 2
    assert out.getvalue().startswith(b"ext_id,amount,date,score,text\r\n")
    assert list(csv.reader(io.StringIO(out.getvalue().decode(), newline=""))) == [
        list(columns),
        ["L1", "-1.50", "2024-02-01", "", "'+x"],
        ["L2", "0.00", "", "0.5", "y\nz"],
    ]
    assert b"".join(writers.csv_chunks(columns, rows, chunk_bytes=8)) == out.getvalue()
    out = io.BytesIO()
    assert writers.write_jsonl(out, columns, rows) == 2
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0] == {"ext_id": "L1", "amount": "-1.50", "date": "2024-02-01", "score": None, "text": "+x"}
