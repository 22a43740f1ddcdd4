"""Bank statements: MT940/MT950, CAMT.052/053/054, BAI2 and OFX/QFX parsed into one canonical shape, with
the statements' integrity checked while the file streams past.

    from recon.ingest.statements import detect_format, read_statements
    fmt = detect_format(head)                      # from content, never from the name
    with open(path, "rb") as stream:
        result = read_statements(stream, fmt)      # IngestError (line or element + reason) when malformed
    result.summaries, result.transactions, result.preview

Pure library without pyarrow: `recon.ingest.statements.tables` turns the entries into Arrow tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from recon.ingest.errors import IngestError
from recon.ingest.statements.detect import HEAD_BYTES, detect_format
from recon.ingest.statements.integrity import Collector, StatementSummary
from recon.ingest.statements.model import Entry, Event, StatementLimits, limits_from

EventsOf = Callable[[BinaryIO, StatementLimits, str], Iterator[Event]]


@dataclass(frozen=True, slots=True)
class StatementFormat:
    name: str
    title: str
    events: EventsOf
    raw_columns: tuple[str, ...]


def _formats() -> dict[str, StatementFormat]:
    from recon.ingest.parsers import bai2, camt, mt940, ofx

    swift = (mt940.mt940_events, mt940.RAW_COLUMNS)
    iso = (camt.camt_events, camt.RAW_COLUMNS)
    return {
        "mt940": StatementFormat("mt940", "SWIFT MT940 customer statement", *swift),
        "mt950": StatementFormat("mt950", "SWIFT MT950 statement message", *swift),
        "camt053": StatementFormat("camt053", "ISO 20022 camt.053 bank-to-customer statement", *iso),
        "camt052": StatementFormat("camt052", "ISO 20022 camt.052 account report", *iso),
        "camt054": StatementFormat("camt054", "ISO 20022 camt.054 debit/credit notification", *iso),
        "bai2": StatementFormat("bai2", "BAI2 balance report", bai2.bai2_events, bai2.RAW_COLUMNS),
        "ofx": StatementFormat("ofx", "OFX/QFX statement", ofx.ofx_events, ofx.RAW_COLUMNS),
    }


FORMAT_NAMES = ("mt940", "mt950", "camt053", "camt052", "camt054", "bai2", "ofx")


def statement_format(name: str) -> StatementFormat:
    formats = _formats()
    if name not in formats:
        raise IngestError(f"{name!r} is not a bank statement format ({', '.join(FORMAT_NAMES)})")
    return formats[name]


def is_statement_format(name: str | None) -> bool:
    return name in FORMAT_NAMES


@dataclass(slots=True)
class StatementFile:
    format: str
    summaries: list[StatementSummary]
    transactions: int
    preview: list[tuple[Entry, int]] = field(default_factory=list)  # (entry, its number in its statement)


def iter_entries(
    stream: BinaryIO, fmt: str, limits: StatementLimits | None = None, encoding: str = "auto"
) -> tuple[Collector, Iterator[tuple[Entry, int]]]:
    """The checked entries of the stream, with their number within their statement; the collector holds
    the statement summaries once the iterator is exhausted."""
    spec = statement_format(fmt)
    collector = Collector(limits)
    return collector, collector.run(spec.events(stream, collector.limits, encoding))


def read_statements(
    stream: BinaryIO,
    fmt: str,
    *,
    limits: StatementLimits | None = None,
    preview: int = 0,
    encoding: str = "auto",
) -> StatementFile:
    """Stream the whole file through the parser and the integrity checks, keeping the summaries and the
    first `preview` entries only (memory stays bounded whatever the file's size)."""
    collector, entries = iter_entries(stream, fmt, limits, encoding)
    kept: list[tuple[Entry, int]] = []
    for entry, number in entries:
        if len(kept) < preview:
            kept.append((entry, number))
    return StatementFile(fmt, collector.summaries, collector.transactions, kept)


__all__ = [
    "FORMAT_NAMES",
    "HEAD_BYTES",
    "StatementFile",
    "StatementFormat",
    "StatementLimits",
    "StatementSummary",
    "detect_format",
    "is_statement_format",
    "iter_entries",
    "limits_from",
    "read_statements",
    "statement_format",
]
