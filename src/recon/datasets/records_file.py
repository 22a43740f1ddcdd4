"""A dataset's ingested records as an Arrow IPC file in the object store, beside its database rows.

A run loads its two inputs from these files (the table `bulk.load_dataset_arrow` reads from dataset_records)
instead of reading every record back out of the database: 1M records cost ~4 s of COPY out and CSV parsing
(and the database's CPU) against ~0.05 s of CPU to read the file (docs/adr/0032). LZ4-compressed: 1M demo
records are 53 MB instead of 138 MB (the CSV: 110 MB) for 0.18 s of CPU in the ingestion's writing thread.

The ingest job writes the file before its transaction commits, under a key naming the job
(`records/<dataset id>/<job id>.arrow`). The dataset row names the job whose records it holds (`job_id`), so
the file of a superseded or never-committed ingestion is never read; a retried attempt of the same job parses
the same stored file with the same options and writes the same table. A missing or unreadable file (datasets
ingested before this existed, a lost object) is not an error: the database rows are read as before. The
database rows stay the record of truth (the records API, carry, instant reconciliation read them).

The data stack is imported inside the functions that use it: the API process (no pyarrow in its image)
deletes a dataset's files with the dataset.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import structlog

from recon.models import Dataset
from recon.storage import ObjectStore

if TYPE_CHECKING:
    import pyarrow as pa

    from recon.datasets.parsing import ParsedDataset

PREFIX = "records"
log = structlog.get_logger("recon.datasets")


def records_key(dataset_id: str, job_id: str) -> str:
    return f"{PREFIX}/{dataset_id}/{job_id}.arrow"


def load_form(parsed: ParsedDataset) -> pa.Table:
    """The parsed records as `load_dataset_arrow(..., with_row_no=True)` answers them from the database once
    stored: `_row` first, the amount at the file's scale (through the stored scale, as the database holds
    it), one string column per extra."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from recon.datasets.bulk import arrow_extra_names, arrow_schema, parse_extra
    from recon.datasets.parsing import STORED_SCALE

    records = parsed.records
    extra = arrow_extra_names(parsed.mapping.extra or [])
    schema = arrow_schema(parsed.amount_scale, extra, with_row_no=True)
    amount = pc.cast(
        pc.cast(records.column("amount"), pa.decimal128(38, STORED_SCALE)), schema.field("amount").type
    )
    columns: dict[str, pa.ChunkedArray | pa.Array] = {
        "_row": records.column("row_no"),
        "id": records.column("ext_id"),
        "date": records.column("date"),
        "value_date": records.column("value_date"),
        "amount": amount,
        **{name: records.column(name) for name in ("currency", "reference", "counterparty", "description")},
    }
    if extra:
        values = parse_extra(
            records.column("extra").to_pylist(), pa.schema([(key, pa.string()) for key in extra])
        )
        columns |= {name: values.column(key) for key, name in extra.items()}
    table = pa.table({name: columns[name] for name in schema.names}).cast(schema)
    rows = table.column("_row")
    if table.num_rows > 1 and not pc.all(pc.greater(rows[1:], rows[:-1])).as_py():
        table = table.take(pc.sort_indices(rows))  # the database answers them in row_no order
    return table.combine_chunks()


def write_records_file(store: ObjectStore, dataset_id: str, job_id: str, parsed: ParsedDataset) -> None:
    """Store the load form of the parsed records under the ingestion job's key. A failure is logged, not
    raised: without the file a run reads the database rows."""
    if parsed.records.num_rows == 0:
        return
    from pyarrow import ipc

    try:
        table = load_form(parsed)
        sink = io.BytesIO()
        with ipc.new_file(sink, table.schema, options=ipc.IpcWriteOptions(compression="lz4")) as writer:
            writer.write_table(table)
        store.put_bytes(records_key(dataset_id, job_id), sink.getvalue())
    except Exception as exc:  # a cache: the ingestion's outcome does not depend on it
        log.warning("records_file_not_written", dataset_id=dataset_id, error=repr(exc))


def read_records_file(store: ObjectStore, dataset: Dataset) -> pa.Table | None:
    """The dataset's records as written by its current ingestion, or None (no file, or not what the
    dataset row describes: then the caller reads the database)."""
    import pyarrow as pa
    from pyarrow import ipc

    from recon.datasets.bulk import arrow_extra_names, arrow_schema

    if dataset.job_id is None:
        return None
    key = records_key(dataset.id, dataset.job_id)
    expected = arrow_schema(
        dataset.amount_scale, arrow_extra_names(dataset.extra_columns or []), with_row_no=True
    )
    try:
        if not store.exists(key):
            return None
        with store.local_path(key) as path:
            table = ipc.open_file(pa.memory_map(str(path))).read_all()
    except Exception as exc:
        log.warning("records_file_unreadable", dataset_id=dataset.id, key=key, error=repr(exc))
        return None
    if table.num_rows != dataset.rows or not table.schema.equals(expected):
        log.warning("records_file_mismatch", dataset_id=dataset.id, key=key, rows=table.num_rows)
        return None
    return table


def delete_records_files(store: ObjectStore, dataset_id: str, keep_job_id: str | None = None) -> None:
    """Remove the dataset's record files (but the one of `keep_job_id`); failures are logged."""
    keep = None if keep_job_id is None else records_key(dataset_id, keep_job_id)
    try:
        for listed in list(store.list_objects(f"{PREFIX}/{dataset_id}")):
            if listed.key != keep:
                store.delete(listed.key)
    except Exception as exc:
        log.warning("records_files_not_deleted", dataset_id=dataset_id, error=repr(exc))
