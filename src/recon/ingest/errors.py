"""Errors raised or reported by ingestion.

`IngestError` is a whole-file problem (unreadable file, bad option, missing or broken header); it aborts the
read. `RowError` is a per-record problem; the record goes to `IngestResult.rejected` and the read continues.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


class IngestError(Exception):
    """A problem with the whole file or with the options; `str()` names the file, row, line and column."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.line = line
        self.column = column
        super().__init__(message)

    def with_file(self, file: str) -> IngestError:
        """The same error, naming `file` (used by the reader, which knows the file name)."""
        if self.file is None:
            self.file = file
        return self

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem of one record.

    `row` is the 1-based data row number: the header and blank lines are not counted. `line` is where the
    record starts in the file (1-based physical line for CSV and JSON lines, the sheet row for XLSX; None when
    unknown, e.g. Parquet or a JSON array). `column` is None when the record as a whole is broken (wrong
    number of fields, invalid JSON line); `value` is then the raw text of the record.
    """

    row: int
    column: str | None
    value: str | None
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"row {self.row}" + (f" (line {self.line})" if self.line is not None else "")
        if self.column is not None:
            return f"{where}, column {self.column!r}: {self.reason}"
        return f"{where}: {self.reason}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    by_folded = {choice.casefold(): choice for choice in choices}
    close = difflib.get_close_matches(word.casefold(), list(by_folded), n=1, cutoff=0.6)
    return f" (did you mean {by_folded[close[0]]!r}?)" if close else ""
