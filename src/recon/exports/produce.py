"""Produce an export file: stream each section's rows from the database into a writer.

The rows are read in one consistent snapshot (`read_snapshot`: REPEATABLE READ, read-only on PostgreSQL; a
SQLite read transaction is a snapshot in WAL mode), so review actions committed meanwhile never leave an
export half before and half after them.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

from sqlalchemy.orm import Session

from recon.exports.dialect import RFC4180, CsvDialect
from recon.exports.sections import CHUNK_ROWS, Scope, Section, sections_of
from recon.exports.writers import XlsxBook, file_kind, is_bundle, write_csv, write_jsonl, zip_member
from recon.models.exports import ExportFormat

# Called every `chunk_rows` rows with the rows written so far (progress, cancellation checks).
Tick = Callable[[int], None]


def read_snapshot(session: Session) -> None:
    """Make `session` read one snapshot for all its statements (call before its first statement)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )


def count_rows(session: Session, scope: Scope, what: str) -> dict[str, int]:
    return {section.name: section.count(session, scope) for section in sections_of(what)}


class _Counter:
    def __init__(self, tick: Tick | None, chunk_rows: int) -> None:
        self.tick = tick
        self.chunk_rows = chunk_rows
        self.done = 0

    def wrap(self, rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        for row in rows:
            yield row
            self.done += 1
            if self.tick is not None and self.done % self.chunk_rows == 0:
                self.tick(self.done)


def produce(
    session: Session,
    scope: Scope,
    what: str,
    fmt: str,
    out: IO[bytes],
    *,
    tick: Tick | None = None,
    chunk_rows: int = CHUNK_ROWS,
    dialect: CsvDialect = RFC4180,
) -> dict[str, int]:
    """Write the export of `what` in `fmt` to `out`; returns the data rows written per section."""
    sections = sections_of(what)
    counter = _Counter(tick, chunk_rows)

    def rows(section: Section) -> Iterator[tuple[Any, ...]]:
        return counter.wrap(section.rows(session, scope, chunk_rows))

    counts: dict[str, int] = {}
    if fmt == ExportFormat.XLSX:
        book = XlsxBook()
        for section in sections:
            counts[section.name] = book.add_section(section.name, section.columns, rows(section))
        book.save(out)
        return counts

    def write_dialect(out: IO[bytes], columns: Sequence[str], rows: Iterator[tuple[Any, ...]]) -> int:
        return write_csv(out, columns, rows, dialect)

    write = write_dialect if fmt == ExportFormat.CSV else write_jsonl
    if not is_bundle(fmt, len(sections)):
        (section,) = sections
        return {section.name: write(out, section.columns, rows(section))}
    extension, _ = file_kind(fmt, 1)
    with zipfile.ZipFile(out, "w", allowZip64=True) as archive:
        for section in sections:
            with zip_member(archive, f"{section.name}.{extension}", scope.as_of) as member:
                counts[section.name] = write(member, section.columns, rows(section))
    return counts


def export_filename(run_id: str, what: str, fmt: str, created_at: dt.datetime) -> str:
    extension, _ = file_kind(fmt, len(sections_of(what)))
    stamp = created_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"run-{run_id[:8]}-{what}-{stamp}.{extension}"


def media_type(what: str, fmt: str) -> str:
    return file_kind(fmt, len(sections_of(what)))[1]
