"""Explanation texts kept compressed between their pass and the writing of the results.

A pass's explanations (JSON, ~300 bytes a group) were held as Arrow strings until the results were written:
~370 MB at 1M x 1M, the largest single item at the process's peak. `PackedTexts` holds them as zstd-
compressed Arrow IPC record batches of SLICE texts each (JSON compresses ~10x), and hands them back one
slice at a time, so writing the results never holds a whole pass's texts again.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

SLICE = 1 << 16  # texts per compressed batch: the most that is ever decompressed at once
_OPTIONS = pa.ipc.IpcWriteOptions(compression=pa.Codec("zstd", compression_level=1))


class PackedTexts:
    """A text array (string or large_string, nulls allowed) stored compressed, read back in slices."""

    def __init__(self, values: pa.Array) -> None:
        self.length = len(values)
        self.type = values.type
        sink = pa.BufferOutputStream()
        schema = pa.schema([("t", values.type)])
        with pa.ipc.new_stream(sink, schema, options=_OPTIONS) as writer:
            for start in range(0, max(1, self.length), SLICE):
                writer.write_batch(pa.record_batch([values.slice(start, SLICE)], schema=schema))
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
