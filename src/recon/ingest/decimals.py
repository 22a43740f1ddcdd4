"""Text to exact decimals, vectorised with pyarrow.compute.

Accepted: surrounding spaces, currency symbols and spaces anywhere, an ISO currency code before or after the
number, a leading + or -, a trailing minus ("12.50-") and parentheses ("(12.50)") as negative, the configured
decimal and thousands separators (thousands groups must be of three digits). The result is
decimal128(38, s) with s the largest scale seen, so no value is rounded.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from recon.ingest.cells import Failure, Parsed, failure, nulls_where, trimmed_text

MAX_PRECISION = 38
_NOISE = r"[\s\x{00A0}\x{2007}\x{202F}\p{Sc}]+"
_PARTS = r"^(?P<open>\(?)(?P<sign>[+-]?)(?P<num>[0-9.,']+)(?P<trail>-?)(?P<close>\)?)$"


def _whole_pattern(thousands: str | None) -> str:
    if thousands is None or thousands == " ":  # spaces are stripped before grouping is checked
        return r"\d+"
    return rf"(?:\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})+|\d+)"


def _body_pattern(decimal: str, thousands: str | None) -> str:
    dec = re.escape(decimal)
    return rf"^{_whole_pattern(thousands)}(?:{dec}\d*)?$|^{dec}\d+$"


def _plain_pattern(decimal: str, thousands: str | None) -> str:
    """The common shape: optional minus, digits (grouped as configured), optional fraction."""
    return rf"^-?{_whole_pattern(thousands)}(?:{re.escape(decimal)}\d+)?$"


def _without_separators(text: pa.Array, decimal: str, thousands: str | None) -> pa.Array:
    if thousands not in (None, " "):
        text = pc.replace_substring(text, thousands, "")
    return pc.replace_substring(text, ",", ".") if decimal == "," else text


def describe_separators(decimal: str, thousands: str | None) -> str:
    grouping = "no thousands separator" if thousands is None else f"thousands {thousands!r}"
    return f"decimal {decimal!r}, {grouping}"


def _normalise(text: pa.Array, decimal: str, thousands: str | None) -> pa.Array:
    """Canonical '-123.45' strings for the non-canonical cells; null where the text is not a number."""
    text = pc.replace_substring_regex(text, _NOISE, "")
    text = pc.replace_substring_regex(text, r"^([-+(]*)[A-Z]{3}", r"\1")
    text = pc.replace_substring_regex(text, r"[A-Z]{3}(\)?)$", r"\1")
    parts = pc.extract_regex(text, _PARTS)
    opened = pc.equal(pc.struct_field(parts, "open"), "(")
    closed = pc.equal(pc.struct_field(parts, "close"), ")")
    sign = pc.struct_field(parts, "sign")
    trailing = pc.equal(pc.struct_field(parts, "trail"), "-")
    number = pc.struct_field(parts, "num")
    minus = pc.equal(sign, "-")
    markers = pc.add(
        pc.add(pc.cast(opened, pa.int8()), pc.cast(minus, pa.int8())), pc.cast(trailing, pa.int8())
    )
    valid = pc.and_(
        pc.and_(pc.equal(opened, closed), pc.less_equal(markers, 1)),
        pc.and_(
            pc.invert(pc.and_(pc.equal(sign, "+"), pc.greater(markers, 0))),
            pc.match_substring_regex(number, _body_pattern(decimal, thousands)),
        ),
    )
    body = pc.replace_substring_regex(_without_separators(number, decimal, thousands), r"\.$", "")
    body = pc.replace_substring_regex(body, r"^\.", "0.")
    signed = pc.if_else(pc.greater(markers, 0), pc.binary_join_element_wise("-", body, ""), body)
    return pc.if_else(pc.fill_null(valid, False), signed, None)


def _canonical_text(text: pa.Array, decimal: str, thousands: str | None) -> pa.Array:
    """'-123.45' strings for every parseable cell, null for empty and unparseable cells.

    Cells of the plain shape only lose their separators; the others (signs, parentheses, currency, spaces)
    take the slower normalisation, which only sees them.
    """
    plain = pc.fill_null(pc.match_substring_regex(text, _plain_pattern(decimal, thousands)), True)
    canonical = _without_separators(text, decimal, thousands)
    if pc.all(plain).as_py():
        return canonical
    todo = pc.invert(plain)
    return pc.replace_with_mask(canonical, todo, _normalise(pc.filter(text, todo), decimal, thousands))


def parse_decimal_text(values: pa.Array, decimal: str = ".", thousands: str | None = None) -> Parsed:
    text = trimmed_text(values)
    canonical = _canonical_text(text, decimal, thousands)
    failures = failure(pc.and_(pc.is_valid(text), pc.is_null(canonical)), "is not a decimal")
    if failures:
        failures = [
            Failure(failures[0].mask, f"is not a decimal ({describe_separators(decimal, thousands)})")
        ]
    length = pc.binary_length(canonical)  # canonical text is ASCII
    dot = pc.find_substring(canonical, ".")
    has_dot = pc.greater_equal(dot, 0)
    scale = pc.if_else(has_dot, pc.subtract(pc.subtract(length, dot), 1), 0)
    too_fine = pc.fill_null(pc.greater(scale, MAX_PRECISION), False)
    max_scale = pc.max(pc.if_else(too_fine, None, scale)).as_py() or 0
    oversized = too_fine
    if (pc.max(length).as_py() or 0) + max_scale > MAX_PRECISION:  # rare: count integer digits per cell
        digits = pc.subtract(
            pc.if_else(has_dot, dot, length), pc.cast(pc.starts_with(canonical, "-"), pa.int32())
        )
        oversized = pc.or_(
            too_fine, pc.fill_null(pc.greater(pc.add(digits, max_scale), MAX_PRECISION), False)
        )
    failures += failure(oversized, f"has more digits than decimal({MAX_PRECISION}, {max_scale}) can hold")
    if failures:
        canonical = nulls_where(canonical, oversized)
    return Parsed(pc.cast(canonical, pa.decimal128(MAX_PRECISION, max_scale)), failures)
