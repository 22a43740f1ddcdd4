"""File ingestion: CSV, XLSX, Parquet and JSON into Arrow tables with typed columns and per-row errors.

    from recon.ingest import read_file, ReadOptions
    opts = ReadOptions.from_mapping({"delimiter": ";", "decimal": ","}, where="left.read")
    res = read_file("bank.csv", options=opts, types={"amount": "decimal", "date": "date"})
    res.table, res.rejected, res.errors, res.rows_read, res.sha256

Pure library: no web, ORM or platform imports (import-linter enforces it).
"""

from recon.ingest.errors import IngestError, RowError
from recon.ingest.options import AmountSpec, ReadOptions
from recon.ingest.reader import IngestResult, read_bytes, read_file

__all__ = ["AmountSpec", "IngestError", "IngestResult", "ReadOptions", "RowError", "read_bytes", "read_file"]
