"""Parsers by name; the format is chosen by explicit name, magic bytes, bank statement content, file
extension, then content.

A parser is `(data: bytes, options: ReadOptions) -> RawTable`. Built-in parsers register themselves when
`recon.ingest.parsers` is imported; bank statement formats (mt940, mt950, camt053, camt052, camt054, bai2,
ofx) are recognised from their content before the extension is looked at.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

from recon.ingest.errors import IngestError, did_you_mean
from recon.ingest.options import ReadOptions
from recon.ingest.raw import RawTable
from recon.ingest.statements.detect import HEAD_BYTES, detect_format

Parser = Callable[[bytes, ReadOptions], RawTable]


@dataclass(frozen=True, slots=True)
class ParserSpec:
    name: str
    parse: Parser
    extensions: tuple[str, ...] = ()
    magic: tuple[bytes, ...] = ()


_PARSERS: dict[str, ParserSpec] = {}
_ALIASES = {
    "excel": "xlsx",
    "xlsm": "xlsx",
    "jsonl": "json",
    "ndjson": "json",
    "tsv": "csv",
    "txt": "csv",
    "qfx": "ofx",
    "camt": "camt053",
}


def register(
    name: str, parse: Parser, *, extensions: tuple[str, ...] = (), magic: tuple[bytes, ...] = ()
) -> None:
    """Register (or replace) the parser `name`; `extensions` without dots, `magic` = leading bytes."""
    _PARSERS[name] = ParserSpec(name, parse, tuple(e.lower() for e in extensions), magic)


def _builtins() -> dict[str, ParserSpec]:
    importlib.import_module("recon.ingest.parsers")
    return _PARSERS


def names() -> list[str]:
    return sorted(_builtins())


def get(name: str) -> ParserSpec:
    parsers = _builtins()
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in parsers:
        raise IngestError(
            f"unknown format {name!r}; known: {', '.join(sorted(parsers))}{did_you_mean(name, parsers)}"
        )
    return parsers[key]


def _looks_like_json(data: bytes) -> bool:
    head = data[:64].removeprefix(b"\xef\xbb\xbf").lstrip()
    return head[:1] in (b"[", b"{")


def choose(data: bytes, filename: str | None, format: str | None = None) -> ParserSpec:
    """The parser for these bytes: explicit `format`, else magic bytes, else extension, else content."""
    if format is not None:
        return get(format)
    parsers = _builtins()
    for spec in parsers.values():
        if any(data.startswith(magic) for magic in spec.magic):
            return spec
    statement = detect_format(data[:HEAD_BYTES])  # bank statements: by content, whatever the name says
    if statement is not None:
        return parsers[statement]
    suffix = PurePath(filename).suffix.lower().lstrip(".") if filename else ""
    if suffix == "xls":
        raise IngestError("legacy .xls workbooks are not supported; save the sheet as .xlsx or CSV")
    for spec in parsers.values():
        if suffix in spec.extensions:
            return spec
    if _looks_like_json(data):
        return parsers["json"]
    if b"\0" in data[:4096]:
        raise IngestError("binary content of an unknown format; pass format= (csv, xlsx, parquet, json)")
    return parsers["csv"]
