"""Workbooks built in the test with zipfile: small on disk, huge when unzipped (decompression bombs)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

SHEET = "xl/worksheets/sheet1.xml"
# A <dimension> claiming one cell: openpyxl's size probe stops there instead of parsing the whole sheet.
_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?><worksheet '
    b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:A1"/><sheetData>'
)
_TAIL = b"</sheetData></worksheet>"


def _template() -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.append(["id", "amount"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def workbook_with_sheet(path: Path, chunks: Iterator[bytes], level: int = 9) -> Path:
    """A valid workbook whose first sheet's XML is `_HEAD + chunks + _TAIL`, streamed into the zip."""
    with (
        zipfile.ZipFile(io.BytesIO(_template())) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as target,
    ):
        for info in source.infolist():
            if info.filename != SHEET:
                target.writestr(info, source.read(info.filename))
        with target.open(SHEET, "w", force_zip64=True) as sheet:
            sheet.write(_HEAD)
            for chunk in chunks:
                sheet.write(chunk)
            sheet.write(_TAIL)
    return path


def whitespace_bomb(path: Path, gib: float = 1.0) -> Path:
    """A header row, then `gib` GiB of spaces inside the sheet's XML."""
    block = b" " * (1 << 20)
    header = b'<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c></row>'
    return workbook_with_sheet(path, iter([header, *(block for _ in range(int(gib * 1024)))]), level=6)


def rows_bomb(path: Path, rows: int) -> Path:
    """A header row and `rows` data rows of one small number each (empty-ish rows compress very well)."""

    def chunks() -> Iterator[bytes]:
        yield b'<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c></row>'
        batch: list[bytes] = []
        for _ in range(rows):
            batch.append(b"<row><c><v>1</v></c></row>")  # no r=: openpyxl numbers rows itself
            if len(batch) == 100_000:
                yield b"".join(batch)
                batch.clear()
        yield b"".join(batch)

    return workbook_with_sheet(path, chunks())
