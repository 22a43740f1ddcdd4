"""Text normalizers on Arrow arrays (same meaning as the SQL versions in recon.engine.sql).

Computed once per side and column, then handed to DuckDB as extra columns: regular expressions over a
million strings cost about a second each, so `digits` and `alnum` on ASCII text work on the raw UTF-8
bytes with numpy instead (the result is identical; non-ASCII text takes the regular-expression path).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_ALNUM = np.zeros(256, bool)
_ALNUM[ord("0") : ord("9") + 1] = True
_ALNUM[ord("A") : ord("Z") + 1] = True
_ALNUM[ord("a") : ord("z") + 1] = True
_DIGITS = np.zeros(256, bool)
_DIGITS[ord("0") : ord("9") + 1] = True


def _keep_bytes(values: pa.Array, keep: np.ndarray) -> pa.Array:
    """Keep only the bytes whose table entry is True (valid for ASCII-only text)."""
    if values.offset and values.null_count:
        values = pa.concat_arrays([values])  # the validity bitmap below must start at bit 0
    width = np.int64 if pa.types.is_large_string(values.type) else np.int32
    offsets = np.frombuffer(
        values.buffers()[1], dtype=width, count=len(values) + 1, offset=values.offset * width().nbytes
    )
    offsets = offsets.astype(np.int64)
    data_buffer = values.buffers()[2]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    data = data[offsets[0] : offsets[-1]]
    offsets = offsets - offsets[0]
    mask = keep[data]
    kept_before = np.zeros(len(data) + 1, np.int64 if len(data) >= 2**31 else np.int32)
    np.cumsum(mask, out=kept_before[1:])
    new_offsets = kept_before[offsets].astype(np.int64)
    kept = data[mask]
    return pa.LargeStringArray.from_buffers(
        len(values), pa.py_buffer(new_offsets), pa.py_buffer(kept), values.buffers()[0], values.null_count
    ).cast(pa.string())


def _is_ascii(values: pa.Array) -> bool:
    """True when every value byte is ASCII (checked on the raw buffer, padding excluded)."""
    if len(values) == 0 or values.buffers()[2] is None:
        return True
    width = np.int64 if pa.types.is_large_string(values.type) else np.int32
    offsets = np.frombuffer(
        values.buffers()[1], dtype=width, count=len(values) + 1, offset=values.offset * width().nbytes
    )
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return not bool((data >= 0x80).any())


def _regex(values: pa.Array, pattern: str, replacement: str = "") -> pa.Array:
    return pc.replace_substring_regex(values, pattern=pattern, replacement=replacement)


def apply(values: pa.Array | pa.ChunkedArray, normalizers: Sequence[str]) -> pa.Array:
    """Normalized text; empty results become null (missing values never match)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    for step in normalizers:
        if step == "trim":
            values = pc.utf8_trim(values, characters=" ")  # spaces, like SQL trim()
        elif step == "upper":
            values = pc.utf8_upper(values)
        elif step == "lower":
            values = pc.utf8_lower(values)
        elif step == "digits":
            values = _keep_bytes(values, _DIGITS) if _is_ascii(values) else _regex(values, "[^0-9]+")
        elif step == "alnum":
            values = _keep_bytes(values, _ALNUM) if _is_ascii(values) else _regex(values, r"[^\p{L}\p{N}]+")
        elif step == "collapse_spaces":
            values = pc.utf8_trim(_regex(values, r"\s+", " "), characters=" ")
        elif step == "strip_leading_zeros":
            values = _regex(values, "^0+(.)", r"\1")
        else:
            raise ValueError(f"unknown normalizer {step!r}")
    if not pc.any(pc.equal(pc.binary_length(values), 0)).as_py():
        return values
    return pc.if_else(pc.equal(pc.binary_length(values), 0), pa.scalar(None, pa.string()), values)
