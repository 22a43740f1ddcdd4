"""Streaming writers: rows in, bytes out, one row at a time (nothing holds a whole section).

- CSV: the csv module, UTF-8, CRLF line ends, a header row; text cells neutralised. RFC 4180 by default
  (`,`, `.`, no BOM); the dialect (recon.exports.dialect) may change the delimiter, the decimal separator of
  numbers and add a BOM (e.g. Excel in a decimal-comma locale).
- JSON: JSON lines (one object per row, keys = the columns); amounts as exact decimal strings.
- XLSX: openpyxl in write-only mode (rows go to temporary files, not memory); one sheet per section, continued
  on "<name> (2)", ... past Excel's 1,048,576 rows; text cells neutralised; amounts as number cells when a
  double holds them exactly, else as text (see `cells.xlsx_money`).
- Several sections in CSV or JSON (what=all): a ZIP with one file per section.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

from recon.exports.cells import Amount, csv_row, json_text, json_value, timestamp_text, xlsx_money, xlsx_text
from recon.exports.dialect import RFC4180, CsvDialect
from recon.models.exports import ExportFormat

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

XLSX_MAX_ROWS = 1_048_576  # per sheet, header included
DATE_FORMAT = "yyyy-mm-dd"
MEDIA_TYPES: dict[str, str] = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.JSON: "application/x-ndjson",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
EXTENSIONS: dict[str, str] = {
    ExportFormat.CSV: "csv",
    ExportFormat.JSON: "jsonl",
    ExportFormat.XLSX: "xlsx",
}
ZIP_MEDIA_TYPE = "application/zip"

Rows = Iterable[Sequence[Any]]


def is_bundle(fmt: str, sections: int) -> bool:
    """Several sections of a one-table format travel as a ZIP of one file per section."""
    return sections > 1 and fmt != ExportFormat.XLSX


def file_kind(fmt: str, sections: int) -> tuple[str, str]:
    """(extension, media type) of the produced file."""
    if is_bundle(fmt, sections):
        return "zip", ZIP_MEDIA_TYPE
    return EXTENSIONS[fmt], MEDIA_TYPES[fmt]


# -- CSV ----------------------------------------------------------------------------------------------------
def write_csv(out: IO[bytes], columns: Sequence[str], rows: Rows, dialect: CsvDialect = RFC4180) -> int:
    text = io.TextIOWrapper(
        out, encoding="utf-8-sig" if dialect.bom else "utf-8", newline="", write_through=False
    )
    try:
        writer = csv.writer(text, delimiter=dialect.delimiter)
        writer.writerow(columns)
        count = 0
        decimal = dialect.decimal_separator
        for row in rows:
            writer.writerow(csv_row(row, decimal))
            count += 1
        text.flush()
    finally:
        text.detach()  # leave `out` open for the caller
    return count


def csv_chunks(
    columns: Sequence[str], rows: Rows, dialect: CsvDialect = RFC4180, chunk_bytes: int = 64 * 1024
) -> Iterator[bytes]:
    """CSV as a stream of byte chunks (for a response generated while it is sent)."""
    buffer = io.StringIO()
    if dialect.bom:
        buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=dialect.delimiter)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(csv_row(row, dialect.decimal_separator))
        if buffer.tell() >= chunk_bytes:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


# -- JSON lines ---------------------------------------------------------------------------------------------
def _json_default(value: Any) -> Any:
    converted = json_value(value)
    if converted is value:
        raise TypeError(f"no JSON form for a {type(value).__name__}")
    return converted


def write_jsonl(out: IO[bytes], columns: Sequence[str], rows: Rows) -> int:
    # json.dumps writes str/int/float/None/dict itself and asks `default` for amounts, dates and timestamps.
    encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=_json_default)
    count = 0
    for row in rows:
        out.write(encoder.encode(dict(zip(columns, row, strict=True))).encode("utf-8") + b"\n")
        count += 1
    return count


# -- XLSX ---------------------------------------------------------------------------------------------------
class XlsxBook:
    """A write-only workbook; `add_section` streams one section into its sheet(s); `save` writes the file."""

    def __init__(self) -> None:
        # Local: openpyxl loads with the first XLSX export, not with the API process.
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell

        self.book = Workbook(write_only=True)
        self._new_cell = WriteOnlyCell

    def add_section(self, name: str, columns: Sequence[str], rows: Rows) -> int:
        part = 1
        sheet = self._sheet(name, part, columns)
        used = 1
        count = 0
        for row in rows:
            if used >= XLSX_MAX_ROWS:
                part += 1
                sheet = self._sheet(name, part, columns)
                used = 1
            sheet.append([self._cell(sheet, value) for value in row])
            used += 1
            count += 1
        return count

    def _sheet(self, name: str, part: int, columns: Sequence[str]) -> WriteOnlyWorksheet:
        sheet: WriteOnlyWorksheet = self.book.create_sheet(name if part == 1 else f"{name} ({part})")
        sheet.freeze_panes = "A2"
        sheet.append(list(columns))
        return sheet

    def _cell(self, sheet: WriteOnlyWorksheet, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return xlsx_text(value)
        if isinstance(value, Amount):
            number, number_format = xlsx_money(Decimal(value.text()))
            if number_format is None:
                return number
            cell = self._new_cell(sheet, value=number)
            places = len(value.text().partition(".")[2])
            cell.number_format = "#,##0" + ("." + "0" * places if places else "")
            return cell
        if isinstance(value, Decimal):
            number, number_format = xlsx_money(value)
            if number_format is None:
                return number
            cell = self._new_cell(sheet, value=number)
            cell.number_format = number_format
            return cell
        if isinstance(value, dt.datetime):
            return timestamp_text(value)  # Excel has no time zones: exact UTC text instead
        if isinstance(value, dt.date):
            cell = self._new_cell(sheet, value=value)
            cell.number_format = DATE_FORMAT
            return cell
        if isinstance(value, dict | list):
            return xlsx_text(json_text(value))
        raise TypeError(f"no XLSX form for a {type(value).__name__}")

    def save(self, out: IO[bytes]) -> None:
        self.book.save(out)


# -- several files in one ZIP -------------------------------------------------------------------------------
@contextmanager
def zip_member(archive: zipfile.ZipFile, name: str, when: dt.datetime) -> Iterator[IO[bytes]]:
    """A streamed member of the archive (ZIP64, deflated), dated `when` so equal content gives equal bytes."""
    utc = when.astimezone(dt.UTC)
    info = zipfile.ZipInfo(name, date_time=(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second))
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w", force_zip64=True) as member:
        yield member
