"""Vectorised forms of `recon.core.money`'s SQLite text for the bulk paths (Arrow in, Arrow out), so a
million amounts are encoded or decoded without a Python call per value. Imported by the bulk writers and
readers only (pyarrow stays out of the API process until then)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from recon.core.money import MONEY_INT_DIGITS, MONEY_SCALE

# Wide enough for value + 10**29 without overflow: 30 integer digits and the 10 decimals.
_WIDE = pa.decimal256(41, MONEY_SCALE)
_STORED = pa.decimal128(38, MONEY_SCALE)
_POSITIVE_OFFSET = pa.scalar(Decimal(10) ** MONEY_INT_DIGITS, _WIDE)
_NEGATIVE_OFFSET = pa.scalar(Decimal(10) ** (MONEY_INT_DIGITS + 1), _WIDE)
_ZERO = pa.scalar(Decimal(0), _WIDE)
# The fast path takes amounts whose count of 10**-10 fits an int64 (|value| below ~922 million).
_LOW = 10**MONEY_SCALE
_HIGH_DIGITS = 9  # 2**63 - 1 < 10**(9 + MONEY_SCALE)
_HEAD = MONEY_INT_DIGITS - _HIGH_DIGITS


def to_sortable_text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Decimal amounts (any scale up to 10, |value| < 10**28) as `sortable_text` strings; nulls stay null.

    Arrow renders small decimals in scientific notation ('0E-10'), so each value is first shifted into a
    29-digit range: 10**28 + v (v >= 0: '1' + the 28 digits) or 10**29 + v (v < 0: '9' + the 28 digits of
    10**28 + v); the leading digit is then replaced by the sign letter."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    units = _int64_units(array)
    if units is not None:
        return _sortable_from_int64(units, array)
    wide = pc.cast(array, _WIDE)
    negative = pc.less(wide, _ZERO)
    shifted = pc.add(wide, pc.if_else(negative, _NEGATIVE_OFFSET, _POSITIVE_OFFSET))
    digits = pc.utf8_slice_codeunits(pc.cast(shifted, pa.string()), 1)
    prefix = pc.if_else(negative, pa.scalar("N"), pa.scalar("P"))
    result: pa.Array = pc.binary_join_element_wise(prefix, digits, "")
    return result


def _int64_units(array: pa.Array) -> npt.NDArray[np.int64] | None:
    """The values as int64 counts of 10**-10 (nulls as 0) when every one fits, read from the decimal128
    buffer (two's complement, little-endian: it fits when the high word is the low one's sign); else None."""
    kind = array.type
    if not pa.types.is_decimal128(kind) or kind.scale > MONEY_SCALE or kind.scale < 0:
        return None
    words = np.frombuffer(array.buffers()[1], np.int64, 2 * (array.offset + len(array)))[2 * array.offset :]
    low, high = words[0::2], words[1::2]
    if array.null_count:
        valid = np.asarray(array.is_valid())
        low, high = np.where(valid, low, 0), np.where(valid, high, 0)
    factor = 10 ** (MONEY_SCALE - kind.scale)
    limit = np.iinfo(np.int64).max // factor
    if not (np.array_equal(high, low >> 63) and np.all((low <= limit) & (low >= -limit))):
        return None
    units: npt.NDArray[np.int64] = low * factor
    return units


def _sortable_from_int64(units: npt.NDArray[np.int64], array: pa.Array) -> pa.Array:
    """The 28 integer digits as 19 constant ones and a 9-digit part (|units| < 2**63 < 10**19), then the 10
    decimals; a negative value as the 9's complement of -v - 1 (that is 10**38 + v, as `sortable_text`)."""
    negative = units < 0
    high, low = np.divmod(np.where(negative, -units - 1, units), _LOW)
    high = np.where(negative, 10**_HIGH_DIGITS - 1 - high, high)
    low = np.where(negative, _LOW - 1 - low, low)
    nulls = np.asarray(array.is_null()) if array.null_count else None  # a null part makes a null text
    result: pa.Array = pc.binary_join_element_wise(
        pc.if_else(pa.array(negative), "N" + "9" * _HEAD, "P" + "0" * _HEAD),
        pc.utf8_lpad(pc.cast(pa.array(high, mask=nulls), pa.string()), _HIGH_DIGITS, "0"),
        ".",
        pc.utf8_lpad(pc.cast(pa.array(low), pa.string()), MONEY_SCALE, "0"),
        "",
    )
    return result


def from_sortable_text(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """`sortable_text` strings back to decimal128(38, 10); nulls stay null."""
    array = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    array = pc.cast(array, pa.string())
    negative = pc.equal(pc.utf8_slice_codeunits(array, 0, 1), "N")
    magnitude = pc.cast(pc.utf8_slice_codeunits(array, 1), _WIDE)
    value = pc.if_else(negative, pc.subtract(magnitude, _POSITIVE_OFFSET), magnitude)
    result: pa.Array = pc.cast(value, _STORED)
    return result
