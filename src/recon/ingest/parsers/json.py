"""JSON: an array of objects, an object holding one (`json_path`), or JSON lines (one object per line).

Numbers are exact (`parse_float=Decimal`); nested objects are flattened to dotted names ("payee.iban");
arrays stay as JSON text. A JSON lines record that is not valid JSON or not an object is a broken record
(the other lines still load); in a single document, invalid JSON is an IngestError naming the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import pyarrow as pa

from recon.ingest.errors import IngestError, did_you_mean
from recon.ingest.limits import DEFAULT_LIMITS, IngestLimits, LimitExceeded, check_columns, check_rows
from recon.ingest.options import ReadOptions
from recon.ingest.parsers import values
from recon.ingest.raw import BrokenRecord, RawTable
from recon.ingest.text import decode


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not a valid JSON number")


def _too_deep(limits: IngestLimits, row: int | None = None) -> LimitExceeded:
    return LimitExceeded(
        "max_depth", limits.max_depth, "the JSON nests objects or arrays too deeply", row=row
    )


def _loads(text: str, limits: IngestLimits) -> Any:
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constants)
    except RecursionError:
        raise _too_deep(limits) from None


def flatten(
    record: Mapping[str, Any], limits: IngestLimits = DEFAULT_LIMITS, row: int | None = None
) -> dict[str, Any]:
    """Nested objects as dotted keys, in document order; iterative, so depth cannot exhaust the stack."""
    out: dict[str, Any] = {}
    stack: list[tuple[str, Iterator[tuple[str, Any]]]] = [("", iter(record.items()))]
    while stack:
        prefix, items = stack[-1]
        for key, value in items:
            if isinstance(value, dict):  # an empty object adds no column
                if len(stack) >= limits.max_depth:
                    raise _too_deep(limits, row)
                stack.append((f"{prefix}{key}.", iter(value.items())))
                break
            out[f"{prefix}{key}"] = value
        else:
            stack.pop()
    return out


def _kind(value: object) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _at_path(document: Any, path: str) -> Any:
    node = document
    walked: list[str] = []
    for step in path.removeprefix("$").strip(".").split("."):
        if isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        elif isinstance(node, dict) and step in node:
            node = node[step]
        else:
            keys = list(node) if isinstance(node, dict) else []
            where = ".".join(walked) or "the top level"
            raise IngestError(f"read.json_path: no {step!r} under {where}{did_you_mean(step, keys)}")
        walked.append(step)
    return node


def _records(document: Any, path: str | None) -> list[Any]:
    if path is not None:
        document = _at_path(document, path)
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        arrays = [k for k, v in document.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if arrays and path is None:
            raise IngestError(
                f"the JSON document is an object; set read.json_path to its records (e.g. {arrays[0]!r})"
            )
        return [document]
    raise IngestError(f"the JSON document is {_kind(document)}, not an array of objects")


def _looks_like_lines(text: str) -> bool:
    """Two or more non-blank lines, the first a whole object on its own line."""
    lines = (line.strip() for line in text.split("\n"))
    first, second = (next((line for line in lines if line), "") for _ in range(2))
    return bool(second) and first.startswith("{") and first.endswith("}")


def _document(text: str, lines: bool | None, limits: IngestLimits) -> Any | None:
    """The parsed document, or None when the text is JSON lines."""
    if lines or (lines is None and _looks_like_lines(text)):
        return None
    try:
        return _loads(text, limits)
    except json.JSONDecodeError as exc:
        raise IngestError(f"invalid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None
    except ValueError as exc:
        raise IngestError(f"invalid JSON: {exc}") from None


class _Collector:
    def __init__(self, nulls: frozenset[str], limits: IngestLimits) -> None:
        self.limits = limits
        self.records: list[dict[str, Any]] = []
        self.numbers: list[int] = []
        self.lines: dict[int, int] = {}
        self.broken: list[BrokenRecord] = []
        self.names: dict[str, None] = {}
        self.nulls = nulls

    def add(self, item: Any, line: int | None = None, text: str | None = None) -> None:
        number = len(self.records) + len(self.broken) + 1
        if number > self.limits.max_rows:
            check_rows(number, self.limits)
        flat = flatten(item, self.limits, number) if isinstance(item, dict) else None
        if flat == {}:
            return  # an object without fields is like a blank line: skipped, not numbered
        if line is not None:
            self.lines[number] = line
        if flat is None:
            self.broken.append(
                BrokenRecord(number, f"is {_kind(item)}, not a JSON object", text=text, line=line)
            )
            return
        flat = {k: None if isinstance(v, str) and v in self.nulls else v for k, v in flat.items()}
        self.names.update(dict.fromkeys(flat))
        if len(self.names) > self.limits.max_columns:
            check_columns(len(self.names), self.limits, f"the records up to row {number}")
        self.records.append(flat)
        self.numbers.append(number)

    def raw(self) -> RawTable:
        names = list(self.names)
        table = values.table(names, [[r.get(n) for n in names] for r in self.records])
        return RawTable(
            table,
            rows=pa.array(self.numbers, pa.int64()) if self.broken else None,
            broken=self.broken,
            lines_of=(lambda wanted: {r: self.lines[r] for r in wanted if r in self.lines})
            if self.lines
            else None,
        )


def parse_json(data: bytes, options: ReadOptions) -> RawTable:
    text, encoding = decode(data, options.encoding)
    collector = _Collector(frozenset(options.null_values), options.limits)
    document = _document(text, options.lines, options.limits)
    if document is None:
        for line, content in enumerate(text.split("\n"), start=1):
            if not content.strip():
                continue
            try:
                item = _loads(content, options.limits)
            except (json.JSONDecodeError, ValueError) as exc:
                number = len(collector.records) + len(collector.broken) + 1
                collector.broken.append(BrokenRecord(number, f"invalid JSON: {exc}", text=content, line=line))
                collector.lines[number] = line
                continue
            collector.add(item, line=line, text=content)
    else:
        for item in _records(document, options.json_path):
            collector.add(
                item, text=None if isinstance(item, dict) else json.dumps(item, default=values.as_text)
            )
    try:
        result = collector.raw()
    except UnicodeEncodeError as exc:  # "\ud800" escapes decode to lone surrogates, which are not text
        raise IngestError(
            f"a JSON string holds a lone surrogate ({exc.object[exc.start : exc.end]!r}), which is not "
            "valid Unicode"
        ) from None
    result.detected.update({"encoding": encoding, "json": "lines" if document is None else "document"})
    return result
