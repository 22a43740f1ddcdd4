"""XLSX via openpyxl in read-only mode (streams rows; openpyxl parses the XML with defusedxml when present).

Numbers become exact decimals through the shortest repr of Excel's stored double (`Decimal(repr(x))`), so
12.1 stays 12.1; whole numbers stay integers; datetimes at midnight become dates. Formula cells give their
cached value (None when the workbook was never calculated). `line` in errors is the sheet row.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import logging
import zipfile
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import IO, Any, Literal

import pyarrow as pa

from recon.ingest.errors import IngestError, did_you_mean
from recon.ingest.limits import IngestLimits, LimitExceeded, check_columns, check_rows
from recon.ingest.options import ReadOptions
from recon.ingest.parsers import values
from recon.ingest.raw import BrokenRecord, RawTable

_RATIO_FROM_BYTES = 16 * 1024 * 1024  # small members may compress far better (styles, empty sheets)


class _Budget:
    """Decompressed bytes left for the whole workbook, shared by every member openpyxl opens."""

    def __init__(self, limits: IngestLimits) -> None:
        self.limits = limits
        self.left = limits.max_unzipped_bytes

    def over_total(self, size: int) -> LimitExceeded:
        return LimitExceeded(
            "max_unzipped_bytes",
            self.limits.max_unzipped_bytes,
            f"the workbook unzips to {size:,} bytes or more",
        )

    def check_ratio(self, info: zipfile.ZipInfo, size: int) -> None:
        if size > _RATIO_FROM_BYTES and size > self.limits.max_zip_ratio * max(info.compress_size, 1):
            raise LimitExceeded(
                "max_zip_ratio",
                self.limits.max_zip_ratio,
                f"the workbook part {info.filename} unzips {size // max(info.compress_size, 1):,} times "
                "its size (a decompression bomb?)",
            )


class _Counted(io.RawIOBase):
    """A zip member's stream that counts what it decompresses and stops at the budget, while reading."""

    def __init__(self, stream: IO[bytes], info: zipfile.ZipInfo, budget: _Budget) -> None:
        super().__init__()
        self._stream, self._info, self._budget, self._read = stream, info, budget, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._stream.read(min(len(view), 1 << 20))
        self._read += len(data)
        self._budget.left -= len(data)
        if self._budget.left < 0:
            raise self._budget.over_total(self._budget.limits.max_unzipped_bytes)
        self._budget.check_ratio(self._info, self._read)
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


class _GuardedZip(zipfile.ZipFile):
    """The workbook's archive as openpyxl reads it: declared sizes checked up front, real ones while
    streaming (every `read` of openpyxl goes through `open`)."""

    def __init__(self, data: bytes, limits: IngestLimits) -> None:
        super().__init__(io.BytesIO(data))
        self.budget = _Budget(limits)
        declared = sum(info.file_size for info in self.infolist())
        if declared > limits.max_unzipped_bytes:
            raise self.budget.over_total(declared)
        for info in self.infolist():
            self.budget.check_ratio(info, info.file_size)

    def open(
        self, name: str | zipfile.ZipInfo, mode: Literal["r", "w"] = "r", pwd: bytes | None = None, **kw: Any
    ) -> IO[bytes]:
        stream = super().open(name, mode, pwd, **kw)
        if mode != "r":
            return stream
        info = name if isinstance(name, zipfile.ZipInfo) else self.getinfo(name)
        return io.BufferedReader(_Counted(stream, info, self.budget))


def _load_workbook(data: bytes, limits: IngestLimits) -> Any:
    """openpyxl's load_workbook (read-only, cached values) over the guarded archive."""
    from openpyxl.reader.excel import ExcelReader

    reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True)
    reader.archive.close()
    reader.archive = _GuardedZip(data, limits)
    reader.read()
    return reader.wb


log = logging.getLogger("recon.ingest")


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


def _header(
    rows: _Rows, header: bool, limits: IngestLimits
) -> tuple[list[str], list[tuple[int, tuple[object, ...]]]]:
    """Column names, and the first data row when there is no header row."""
    for line, first in rows:
        if _blank(first):
            continue
        cells = list(first)
        while cells and (cells[-1] is None or (isinstance(cells[-1], str) and not cells[-1].strip())):
            cells.pop()
        check_columns(len(cells), limits, "the header row" if header else "the first row")
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
    from openpyxl.utils.exceptions import InvalidFileException

    limits = options.limits
    try:
        workbook = _load_workbook(data, limits)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        log.warning("xlsx_unreadable: %s", exc)  # the library's text (and paths) stay in the logs
        raise IngestError(f"not a readable XLSX workbook ({type(exc).__name__})") from exc
    try:
        sheet = _sheet(workbook, options.sheet)
        # The sheet's own <dimension> is not trusted: "A1:A1" would cut the data silently, "A1:XFD1048576"
        # would pad every row to 16,384 cells. Rows are read as wide as their last cell.
        sheet.reset_dimensions()
        rows = (
            (n, r) for n, r in enumerate(sheet.iter_rows(values_only=True), start=1) if n > options.skip_rows
        )
        names, pending = _header(rows, options.header, limits)
        nulls = frozenset(options.null_values)
        width = len(names)
        records: list[list[object]] = []
        numbers: list[int] = []
        lines: dict[int, int] = {}
        broken: list[BrokenRecord] = []
        for line, row in itertools.chain(pending, rows):  # streamed: a list would hold every row
            if _blank(row):
                continue
            number = len(records) + len(broken) + 1
            if number > limits.max_rows:
                check_rows(number, limits)
            if len(row) > limits.max_columns and not _blank(row[limits.max_columns :]):
                check_columns(len(row), limits, f"row {number} (sheet row {line})")
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
