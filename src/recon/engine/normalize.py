"""Text normalizers on Arrow arrays (same meaning as the SQL versions in recon.engine.sql).

Computed once per side and column, then handed to DuckDB as extra columns: regular expressions over a
million strings cost about a second each, so `digits`, `alnum` and `words` on ASCII text work on the raw
UTF-8 bytes with numpy instead (the result is identical; non-ASCII values take the regular-expression path,
and `transliterate` works on the distinct non-ASCII values only).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recon.engine.transliterate import transliterate_text

_ALNUM = np.zeros(256, bool)
_ALNUM[ord("0") : ord("9") + 1] = True
_ALNUM[ord("A") : ord("Z") + 1] = True
_ALNUM[ord("a") : ord("z") + 1] = True
_DIGITS = np.zeros(256, bool)
_DIGITS[ord("0") : ord("9") + 1] = True
# `words`: letters and digits stay, dots and apostrophes vanish (S.A. -> SA), anything else separates words.


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


def _value_bytes(values: pa.Array) -> np.ndarray | None:
    """The bytes of a string array's values (its raw data buffer without padding or the bytes of values
    outside a slice), or None when it has none."""
    if len(values) == 0 or values.buffers()[2] is None:
        return None
    width = np.int64 if pa.types.is_large_string(values.type) else np.int32
    offsets = np.frombuffer(
        values.buffers()[1], dtype=width, count=len(values) + 1, offset=values.offset * width().nbytes
    )
    return np.frombuffer(values.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]


def _is_ascii(values: pa.Array) -> bool:
    """True when every value byte is ASCII (checked on the raw buffer, padding excluded)."""
    data = _value_bytes(values)
    return data is None or not bool((data >= 0x80).any())


_WORD_OR_SPACE = _ALNUM.copy()
_WORD_OR_SPACE[ord(" ")] = True


def only_words(values: pa.Array) -> bool:
    """True when the text has nothing but letters, digits and spaces (ASCII text: checked on its bytes,
    faster than a regular expression over a million long descriptions)."""
    if not _is_ascii(values):
        return not pc.any(pc.match_substring_regex(values, r"[^\p{L}\p{N} ]")).as_py()
    data = _value_bytes(values)
    return data is None or bool(_WORD_OR_SPACE[data].all())


def _regex(values: pa.Array, pattern: str, replacement: str = "") -> pa.Array:
    return pc.replace_substring_regex(values, pattern=pattern, replacement=replacement)


def _by_ascii(
    values: pa.Array, ascii_path: Callable[[pa.Array], pa.Array], other_path: Callable[[pa.Array], pa.Array]
) -> pa.Array:
    """ascii_path for ASCII-only values, other_path for the rest, results in the original order."""
    if _is_ascii(values):
        return ascii_path(values)
    plain = pc.fill_null(pc.string_is_ascii(values), True)
    if not pc.any(plain).as_py():
        return other_path(values)
    plain_rows = pc.indices_nonzero(plain)
    other_rows = pc.indices_nonzero(pc.invert(plain))
    parts = pa.concat_arrays(
        [
            ascii_path(pa.concat_arrays([values.take(plain_rows)])),
            other_path(values.take(other_rows)).cast(pa.string()),
        ]
    )
    position = np.empty(len(values), np.int64)
    position[np.concatenate([plain_rows.to_numpy(), other_rows.to_numpy()])] = np.arange(len(values))
    return parts.take(pa.array(position))


def _transliterate(values: pa.Array) -> pa.Array:
    """Transliterated text: computed once per distinct non-ASCII value."""

    def other(part: pa.Array) -> pa.Array:
        encoded = pc.dictionary_encode(part)
        spelled = [None if v is None else transliterate_text(v) for v in encoded.dictionary.to_pylist()]
        return pa.array(spelled, pa.string()).take(encoded.indices)

    return _by_ascii(values, lambda part: part, other)


def _words_ascii(values: pa.Array) -> pa.Array:
    """`words` on ASCII text: drop dots/apostrophes, other non-alphanumerics to one space, trimmed."""
    # (Arrow's literal replacement drops the two characters faster than a byte mask over long texts)
    values = pc.replace_substring(pc.replace_substring(values, ".", ""), "'", "")
    separator = np.where(_ALNUM | (np.arange(256) >= 0x80), np.arange(256), ord(" ")).astype(np.uint8)
    values = _map_bytes(values, separator)
    return pc.binary_join(pc.ascii_split_whitespace(pc.ascii_trim_whitespace(values)), " ")


def _map_bytes(values: pa.Array, table: np.ndarray) -> pa.Array:
    if len(values) == 0 or values.buffers()[2] is None:
        return values
    values = pa.concat_arrays([values]) if values.offset else values
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)
    mapped = table[data]
    return pa.StringArray.from_buffers(
        len(values), values.buffers()[1], pa.py_buffer(mapped), values.buffers()[0], values.null_count
    )


def _words(values: pa.Array) -> pa.Array:
    def other(part: pa.Array) -> pa.Array:
        part = _regex(part, r"[.'’]+")
        return pc.utf8_trim(_regex(part, r"[^\p{L}\p{N}]+", " "), characters=" ")

    return _by_ascii(values, _words_ascii, other)


def apply(values: pa.Array | pa.ChunkedArray, normalizers: Sequence[str]) -> pa.Array:
    """Normalized text; empty results become null (missing values never match)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    for step in normalizers:
        if step == "trim":
            values = pc.utf8_trim(values, characters=" ")  # spaces, like SQL trim()
        elif step == "upper":  # ß upper-cases to SS, as in German and Python (Arrow and DuckDB give ẞ)
            values = pc.replace_substring(pc.utf8_upper(values), "ẞ", "SS")
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
        elif step == "transliterate":
            values = _transliterate(values)
        elif step == "words":
            values = _words(values)
        else:
            raise ValueError(f"unknown normalizer {step!r}")
    if not pc.any(pc.equal(pc.binary_length(values), 0)).as_py():
        return values
    return pc.if_else(pc.equal(pc.binary_length(values), 0), pa.scalar(None, pa.string()), values)
