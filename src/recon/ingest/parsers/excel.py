"""XLSX via openpyxl in read-only mode (streams rows; openpyxl parses the XML with defusedxml when present).

Numbers become exact decimals through the shortest repr of Excel's stored double (`Decimal(repr(x))`), so
12.1 stays 12.1; whole numbers stay integers; datetimes at midnight become dates. Formula cells give their
cached value (None when the workbook was never calculated). `line` in errors is the sheet row.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa

from recon.ingest.errors import IngestError, did_you_mean
from recon.ingest.options import ReadOptions
from recon.ingest.parsers import values
from recon.ingest.raw import BrokenRecord, RawTable


def _cell(value: object, nulls: frozenset[str]) -> object:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, str) and (value in nulls or (not value.strip() and "" in nulls)):
        return None
    return value


def _sheet(workbook: Any, sheet: str | int | None) -> Any:
    names: list[str] = workbook.sheetnames
    if sheet is None:
        return workbook.worksheets[0]
    if isinstance(sheet, int):
        if sheet > len(names):
            raise IngestError(f"read.sheet: there is no sheet {sheet}; the workbook has {len(names)}")
        return workbook.worksheets[sheet - 1]
    if sheet not in names:
        raise IngestError(
            f"read.sheet: no sheet {sheet!r} (sheets: {', '.join(names)}){did_you_mean(sheet, names)}"
        )
    return workbook[sheet]


def _blank(row: Sequence[object]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


_Rows = Iterator[tuple[int, tuple[object, ...]]]


def _header(rows: _Rows, header: bool) -> tuple[list[str], list[tuple[int, tuple[object, ...]]]]:
    """Column names, and the first data row when there is no header row."""
    for line, first in rows:
        if _blank(first):
            continue
        cells = list(first)
        while cells and (cells[-1] is None or (isinstance(cells[-1], str) and not cells[-1].strip())):
            cells.pop()
        if not header:
            return [f"column{i}" for i in range(1, len(cells) + 1)], [(line, first)]
        names = ["" if v is None else values.as_text(v).strip() for v in cells]
        empty = [i for i, name in enumerate(names, start=1) if not name]
        if empty:
            from openpyxl.utils import get_column_letter

            letters = ", ".join(get_column_letter(i) for i in empty)
            raise IngestError(f"the header row has an empty column name in column {letters}")
        return names, []
    raise IngestError("the sheet has no header and no data" if header else "the sheet has no data")


def parse_xlsx(data: bytes, options: ReadOptions) -> RawTable:
    # Local: openpyxl is loaded by the first workbook, not by every process that registers the parsers.
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise IngestError(f"not a readable XLSX workbook: {exc}") from exc
    try:
        sheet = _sheet(workbook, options.sheet)
        rows = (
            (n, r) for n, r in enumerate(sheet.iter_rows(values_only=True), start=1) if n > options.skip_rows
        )
        names, pending = _header(rows, options.header)
        nulls = frozenset(options.null_values)
        width = len(names)
        records: list[list[object]] = []
        numbers: list[int] = []
        lines: dict[int, int] = {}
        broken: list[BrokenRecord] = []
        for line, row in [*pending, *rows]:
            if _blank(row):
                continue
            number = len(records) + len(broken) + 1
            extra = [v for v in row[width:] if v is not None and not (isinstance(v, str) and not v.strip())]
            if extra:
                cells = [_cell(v, nulls) for v in row]
                text = ", ".join("" if v is None else values.as_text(v) for v in cells)
                reason = f"has {len(extra)} value(s) beyond the {width} header columns"
                broken.append(BrokenRecord(number, reason, text=text, line=line))
                continue
            cells = [_cell(v, nulls) for v in row[:width]]
            records.append(cells + [None] * (width - len(cells)))
            numbers.append(number)
            lines[number] = line
    finally:
        workbook.close()
    numbered = pa.array(numbers, pa.int64()) if broken else None
    return RawTable(
        values.table(names, records),
        rows=numbered,
        broken=broken,
        lines_of=lambda wanted: {r: lines[r] for r in wanted if r in lines},
    )
