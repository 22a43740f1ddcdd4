"""File ingestion: CSV, XLSX, Parquet and JSON into Arrow tables with typed columns and per-row errors.

    from recon.ingest import read_file, ReadOptions
    opts = ReadOptions.from_mapping({"delimiter": ";", "decimal": ","}, where="left.read")
    res = read_file("bank.csv", options=opts, types={"amount": "decimal", "date": "date"})
    res.table, res.rejected, res.errors, res.rows_read, res.sha256

Pure library: no web, ORM or platform imports (import-linter enforces it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from recon.ingest.errors import IngestError, RowError
from recon.ingest.options import AmountSpec, ReadOptions

if TYPE_CHECKING:
    from recon.ingest.reader import IngestResult, read_bytes, read_file

__all__ = ["AmountSpec", "IngestError", "IngestResult", "ReadOptions", "RowError", "read_bytes", "read_file"]

# The reader (numpy, pyarrow) loads on first use, so the API can validate options without the data stack.
_READER = frozenset({"IngestResult", "read_bytes", "read_file"})


def __getattr__(name: str) -> Any:
    if name in _READER:
        from recon.ingest import reader

        return getattr(reader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
