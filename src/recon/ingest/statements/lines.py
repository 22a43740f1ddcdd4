"""Line streaming for the text statement formats (MT940/MT950, BAI2): one physical line at a time, bounded by
`max_line_bytes`, any line ending (CRLF, LF, CR), each line decoded on its own (UTF-8, else cp1252, else
latin-1), trailing spaces and control characters such as SOH/ETX framing removed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from recon.ingest.statements.model import StatementLimits, fail
from recon.ingest.text import UTF8_BOM

CHUNK = 1 << 16
_LINE_END = re.compile(rb"\r\n|\r|\n")
_FRAMING = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode_line(raw: bytes, encoding: str = "auto") -> str:
    if encoding not in ("auto", "utf-8", "utf-8-sig"):
        return raw.decode(encoding, errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        if encoding != "auto":
            return raw.decode("utf-8", errors="replace")
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def raw_lines(stream: BinaryIO, limits: StatementLimits) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, bytes without the line ending); CR alone also ends a line."""
    pending = b""
    number = 0
    first = True
    while True:
        chunk = stream.read(CHUNK)
        if first:
            chunk = chunk.removeprefix(UTF8_BOM)
            first = False
        if not chunk:
            break
        pending += chunk
        start = 0
        for match in _LINE_END.finditer(pending):
            if match.group() == b"\r" and match.end() == len(pending):
                break  # a CR at the chunk's end may be half of a CRLF: wait for the next chunk
            number += 1
            _check_length(match.start() - start, number, limits)
            yield number, pending[start : match.start()]
            start = match.end()
        pending = pending[start:]
        _check_length(len(pending), number + 1, limits)
    if pending:
        yield number + 1, pending.rstrip(b"\r")


def _check_length(size: int, line: int, limits: StatementLimits) -> None:
    if size > limits.max_line_bytes:
        raise fail(f"the line is longer than {limits.max_line_bytes} bytes", line=line)


def text_lines(
    stream: BinaryIO, limits: StatementLimits, encoding: str = "auto"
) -> Iterator[tuple[int, str]]:
    """Decoded lines without trailing whitespace and without framing control characters."""
    for number, raw in raw_lines(stream, limits):
        text = decode_line(raw, encoding)
        if _FRAMING.search(text):
            text = _FRAMING.sub("", text)
        yield number, text.rstrip()
