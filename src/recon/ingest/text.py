"""Byte-level helpers for the text formats: BOM, encodings, line offsets."""

from __future__ import annotations

import re

from recon.ingest.errors import IngestError

UTF8_BOM = b"\xef\xbb\xbf"
_LINE_END = re.compile(rb"\r\n|\r|\n")
FALLBACK_ENCODINGS = ("cp1252", "latin-1")


def strip_bom(data: memoryview, encoding: str) -> memoryview:
    if encoding in ("auto", "utf-8", "utf-8-sig") and data[:3] == UTF8_BOM:
        return data[3:]
    return data


def line_of_offset(data: memoryview | bytes, offset: int) -> int:
    return bytes(data[:offset]).count(b"\n") + 1


def invalid_utf8(data: memoryview | bytes, encoding: str) -> IngestError:
    """The error for bytes that are not valid UTF-8 although `encoding` says they must be."""
    try:
        bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        line = line_of_offset(data, exc.start)
        return IngestError(
            f"byte 0x{data[exc.start]:02x} at offset {exc.start} is not valid UTF-8 (encoding {encoding!r}); "
            "set read.encoding to 'cp1252', 'latin-1' or 'auto'",
            line=line,
        )
    return IngestError(f"the text is not valid UTF-8 (encoding {encoding!r})")


def decode_legacy(data: memoryview | bytes) -> tuple[str, str]:
    """Text of non-UTF-8 bytes: cp1252 when every byte is defined there, else latin-1 (never fails)."""
    raw = bytes(data)
    for encoding in FALLBACK_ENCODINGS:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")


def decode(data: memoryview | bytes, encoding: str) -> tuple[str, str]:
    """Text and the encoding actually used ("auto": UTF-8 when valid, else cp1252, else latin-1)."""
    data = strip_bom(memoryview(data), encoding)
    if encoding in ("auto", "utf-8", "utf-8-sig"):
        try:
            return bytes(data).decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            if encoding != "auto":
                raise invalid_utf8(data, encoding) from None
            return decode_legacy(data)
    try:
        return bytes(data).decode(encoding), encoding
    except UnicodeDecodeError as exc:
        line = line_of_offset(data, exc.start)
        raise IngestError(f"byte 0x{data[exc.start]:02x} is not valid {encoding}", line=line) from None


def offset_after_lines(data: memoryview, lines: int, start: int = 0) -> int:
    """Byte offset just after `lines` line ends (\\r\\n, \\r or \\n) counted from `start`."""
    if lines == 0:
        return start
    for count, match in enumerate(_LINE_END.finditer(data, start), start=1):
        if count == lines:
            return match.end()
    return len(data)
