"""Bounds on the work one file may cause: every parser checks them as it goes and fails fast with an
IngestError that names the limit and the setting that moves it.

The platform builds `IngestLimits` from its settings (INGEST_MAX_*); the defaults serve the CLI and tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from recon.ingest.errors import IngestError

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True, slots=True)
class IngestLimits:
    max_columns: int = 4096
    max_cell_bytes: int = 1 * MIB
    max_row_bytes: int = 4 * MIB  # also the longest header line a CSV may have
    max_rows: int = 10_000_000
    max_unzipped_bytes: int = 512 * MIB  # a workbook's zip members, all together, decompressed
    max_zip_ratio: int = 200  # decompressed / compressed bytes of a member, checked past 16 MiB
    max_depth: int = 64  # nesting of JSON objects and arrays (and XML elements of bank statements)

    def __post_init__(self) -> None:
        for name in self.__slots__:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"ingest limit {name} must be a whole number >= 1 (got {value!r})")


DEFAULT_LIMITS = IngestLimits()

# What a user is told to ask an operator to change (docs/limits.md lists them).
SETTING = {
    "max_columns": "INGEST_MAX_COLUMNS",
    "max_cell_bytes": "INGEST_MAX_CELL_BYTES",
    "max_row_bytes": "INGEST_MAX_ROW_BYTES",
    "max_rows": "INGEST_MAX_ROWS",
    "max_unzipped_bytes": "INGEST_MAX_UNZIPPED_BYTES",
    "max_zip_ratio": "INGEST_MAX_ZIP_RATIO",
    "max_depth": "INGEST_MAX_DEPTH",
}


class LimitExceeded(IngestError):
    """A file goes beyond one of the ingest limits (a permanent error: retrying cannot help)."""

    def __init__(
        self,
        limit: str,
        allowed: int,
        what: str,
        *,
        row: int | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.limit = limit
        self.allowed = allowed
        message = f"{what}; the limit is {allowed:,} ({SETTING[limit]})"
        super().__init__(message, row=row, line=line, column=column)


def check_columns(count: int, limits: IngestLimits, what: str = "the file") -> None:
    if count > limits.max_columns:
        raise LimitExceeded("max_columns", limits.max_columns, f"{what} has {count:,} columns")


def check_rows(count: int, limits: IngestLimits) -> None:
    if count > limits.max_rows:
        raise LimitExceeded("max_rows", limits.max_rows, f"the file has more than {limits.max_rows:,} rows")
