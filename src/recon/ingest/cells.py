"""Small vectorised helpers shared by the typed parsers (decimal, date, integer)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True, slots=True)
class Failure:
    """Cells that failed one check: `mask` is a boolean array without nulls, `reason` follows the value."""

    mask: pa.Array
    reason: str


@dataclass(frozen=True, slots=True)
class Parsed:
    """A typed column (null where the cell was empty or failed) and the failed cells."""

    values: pa.Array
    failures: list[Failure] = field(default_factory=list)
    note: str | None = None


def as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array (kernels such as replace_with_mask want it)."""
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    return values


def trimmed_text(values: pa.Array) -> pa.Array:
    """Trimmed strings with empty cells as null."""
    text = pc.utf8_trim_whitespace(values)
    return pc.if_else(pc.equal(text, ""), None, text)


def failure(mask: pa.Array, reason: str) -> list[Failure]:
    """[Failure] when any cell of `mask` is true, else []."""
    mask = pc.fill_null(mask, False)
    return [Failure(mask, reason)] if pc.any(mask).as_py() else []


def nulls_where(values: pa.Array, mask: pa.Array) -> pa.Array:
    return pc.if_else(mask, pa.scalar(None, values.type), values)
