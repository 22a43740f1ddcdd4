"""Content sniffing of an upload from its first bytes: which supported format it is, or a 415 that says what
it looks like instead. The name's extension is only a tie-breaker for text (CSV vs JSON)."""

from __future__ import annotations

from pathlib import PurePath

from recon.core.errors import Unprocessable, UnsupportedMediaType
from recon.ingest.statements.detect import detect_format

SNIFF_BYTES = 8192
_ZIP = b"PK\x03\x04"
_PARQUET = b"PAR1"
# Recognisable binaries we do not read, named in the error.
_KNOWN_BINARIES: tuple[tuple[bytes, str], ...] = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Office file (.xls); save the sheet as .xlsx or CSV"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive; upload the file uncompressed"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "a Windows executable"),
    (b"BZh", "a bzip2 archive; upload the file uncompressed"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"Rar!", "a RAR archive"),
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _unsupported(what: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"the file looks like {what}; supported formats are CSV, XLSX, Parquet, JSON and the bank "
        "statement formats MT940, MT950, CAMT.052/053/054, BAI2 and OFX/QFX"
    )


def sniff_format(head: bytes, filename: str) -> str:
    """`csv`, `xlsx`, `parquet`, `json` or a bank statement format (`mt940`, `camt053`, `bai2`, `ofx`, ...)
    for the file starting with `head`; 415 for anything else."""
    if not head:
        raise Unprocessable("the file is empty", errors=[{"field": "body.file", "message": "empty file"}])
    if head.startswith(_PARQUET):
        return "parquet"
    suffix = PurePath(filename).suffix.lower().lstrip(".")
    if head.startswith(_ZIP):
        # XLSX is an Office Open XML zip ([Content_Types].xml, _rels/, xl/...); other zips are refused.
        if suffix in {"xlsx", "xlsm"} or any(m in head for m in (b"[Content_Types].xml", b"xl/", b"_rels/")):
            return "xlsx"
        raise _unsupported("a zip archive (not an XLSX workbook)")
    for magic, what in _KNOWN_BINARIES:
        if head.startswith(magic):
            raise _unsupported(what)
    if head.startswith(_UTF16_BOMS) or head[:2].count(b"\x00") == 1:
        raise _unsupported("UTF-16 text; save it as UTF-8")
    if b"\x00" in head:
        raise _unsupported("binary data of an unknown kind")
    statement = detect_format(head)  # bank statements from their content; no mapping step needed
    if statement is not None:
        return statement
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if suffix in {"json", "jsonl", "ndjson"} or (
        suffix not in {"csv", "tsv", "txt"} and text[:1] in (b"[", b"{")
    ):
        return "json"
    return "csv"
