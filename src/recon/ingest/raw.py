"""What a parser hands to the shared typing stage: a table of raw values plus the records it could not split.

A parser is a function `(data: bytes, options: ReadOptions) -> RawTable`. Text formats give string columns;
Parquet, XLSX and JSON give their native types. Typing, validation and the sign convention are shared
(`recon.ingest.columns`, `recon.ingest.mapping`), so a new format (MT940, CAMT.053, ...) only splits records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from recon.ingest.statements.integrity import StatementSummary


@dataclass(frozen=True, slots=True)
class BrokenRecord:
    """A record that could not be split into the table's columns (wrong field count, invalid JSON line)."""

    row: int
    reason: str
    text: str | None = None
    line: int | None = None


@dataclass(slots=True)
class RawTable:
    """Raw values of the readable records, in file order.

    `rows` is the 1-based data row number of each table row (None: 1..num_rows); `broken` rows are numbered
    in the same sequence. `lines_of` maps data row numbers to the line where the record starts; it may be
    slow (it can rescan the file), so it is only called for rows that have errors.
    """

    table: pa.Table
    rows: pa.Array | None = None
    broken: list[BrokenRecord] = field(default_factory=list)
    lines_of: Callable[[Sequence[int]], dict[int, int]] | None = None
    detected: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Bank statement formats: the statements of the file (balances, entry counts), checked while parsing.
    statements: tuple[StatementSummary, ...] = ()
