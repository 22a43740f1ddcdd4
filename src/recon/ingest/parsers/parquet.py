"""Parquet via pyarrow; native types are kept (struct columns flattened to dotted names)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from recon.ingest.errors import IngestError
from recon.ingest.options import ReadOptions
from recon.ingest.raw import RawTable


def _plain(column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_dictionary(kind):
        return _plain(pc.cast(column, kind.value_type))
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return pc.cast(column, pa.string())
    return column


def parse_parquet(data: bytes, options: ReadOptions) -> RawTable:
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError(f"not a readable Parquet file: {exc}") from exc
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    columns = [_plain(column) for column in table.columns]
    return RawTable(pa.Table.from_arrays(columns, names=table.column_names) if columns else table)
