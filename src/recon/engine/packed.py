"""Explanation texts kept compressed between their pass and the writing of the results.

A pass's explanations (JSON, ~300 bytes a group) were held as Arrow strings until the results were written:
~370 MB at 1M x 1M, the largest single item at the process's peak. `PackedTexts` holds them as zstd-
compressed Arrow IPC record batches of SLICE texts each (JSON compresses ~10x), and hands them back one
slice at a time, so writing the results never holds a whole pass's texts again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pyarrow as pa

SLICE = 1 << 16  # texts per compressed batch: the most that is ever decompressed at once
_OPTIONS = pa.ipc.IpcWriteOptions(compression=pa.Codec("zstd", compression_level=1))


class PackedTexts:
    """A text array (string or large_string, nulls allowed) stored compressed, read back in slices."""

    def __init__(self, values: pa.Array) -> None:
        self.__init_chunks(iter([values]), values.type)

    @classmethod
    def from_chunks(cls, chunks: Iterable[pa.Array]) -> PackedTexts:
        """Pack texts as they are made, chunk by chunk (only one chunk is ever held uncompressed); the
        chunks' types may differ (string / large_string): they are read back as large_string then."""
        packed = cls.__new__(cls)
        packed.__init_chunks(iter(chunks), pa.large_string())
        return packed

    def __init_chunks(self, chunks: Iterator[pa.Array], kind: pa.DataType) -> None:
        self.length = 0
        self.type = kind
        sink = pa.BufferOutputStream()
        schema = pa.schema([("t", kind)])
        with pa.ipc.new_stream(sink, schema, options=_OPTIONS) as writer:
            for values in chunks:
                column = values if values.type == kind else values.cast(kind)
                for start in range(0, len(column), SLICE):
                    writer.write_batch(pa.record_batch([column.slice(start, SLICE)], schema=schema))
                self.length += len(column)
        self.buffer = sink.getvalue()

    @property
    def nbytes(self) -> int:
        return int(self.buffer.size)

    def slices(self) -> Iterator[pa.Array]:
        """The texts, SLICE at a time, in order."""
        with pa.ipc.open_stream(self.buffer) as reader:
            for batch in reader:
                if batch.num_rows:
                    yield batch.column(0)

    def unpack(self) -> pa.Array:
        """All texts as one array (for callers that want the whole table)."""
        parts = list(self.slices())
        return pa.concat_arrays(parts) if parts else pa.array([], self.type)
