"""Parquet via pyarrow; native types are kept (struct columns flattened to dotted names)."""

from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from recon.ingest.errors import IngestError
from recon.ingest.limits import check_columns, check_rows
from recon.ingest.options import ReadOptions
from recon.ingest.raw import RawTable


def _plain(column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_dictionary(kind):
        return _plain(pc.cast(column, kind.value_type))
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return pc.cast(column, pa.string())
    return column


log = logging.getLogger("recon.ingest")


def parse_parquet(data: bytes, options: ReadOptions) -> RawTable:
    try:
        file = pq.ParquetFile(pa.BufferReader(data))
        # From the footer, before any data is read: a file too wide or too long is refused at once.
        check_columns(len(file.schema_arrow.names), options.limits)
        check_rows(file.metadata.num_rows, options.limits)
        table = file.read()
    except (pa.ArrowInvalid, OSError) as exc:
        log.warning("parquet_unreadable: %s", exc)  # the library's text stays in the logs
        raise IngestError("not a readable Parquet file (a broken footer, schema or column chunk)") from exc
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    columns = [_plain(column) for column in table.columns]
    return RawTable(pa.Table.from_arrays(columns, names=table.column_names) if columns else table)
