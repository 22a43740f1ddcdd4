"""Vectorised forms of `recon.core.money`'s SQLite text for the bulk paths (Arrow in, Arrow out), so a
million amounts are encoded or decoded without a Python call per value. Imported by the bulk writers and
readers only (pyarrow stays out of the API process until then)."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from recon.core.money import MONEY_INT_DIGITS, MONEY_SCALE

# Wide enough for value + 10**29 without overflow: 30 integer digits and the 10 decimals.
_WIDE = pa.decimal256(41, MONEY_SCALE)
_STORED = pa.decimal128(38, MONEY_SCALE)
_POSITIVE_OFFSET = pa.scalar(Decimal(10) ** MONEY_INT_DIGITS, _WIDE)
_NEGATIVE_OFFSET = pa.scalar(Decimal(10) ** (MONEY_INT_DIGITS + 1), _WIDE)
_ZERO = pa.scalar(Decimal(0), _WIDE)


def to_sortable_text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Decimal amounts (any scale up to 10, |value| < 10**28) as `sortable_text` strings; nulls stay null.

    Arrow renders small decimals in scientific notation ('0E-10'), so each value is first shifted into a
    29-digit range: 10**28 + v (v >= 0: '1' + the 28 digits) or 10**29 + v (v < 0: '9' + the 28 digits of
    10**28 + v); the leading digit is then replaced by the sign letter."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    wide = pc.cast(array, _WIDE)
    negative = pc.less(wide, _ZERO)
    shifted = pc.add(wide, pc.if_else(negative, _NEGATIVE_OFFSET, _POSITIVE_OFFSET))
    digits = pc.utf8_slice_codeunits(pc.cast(shifted, pa.string()), 1)
    prefix = pc.if_else(negative, pa.scalar("N"), pa.scalar("P"))
    result: pa.Array = pc.binary_join_element_wise(prefix, digits, "")
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
