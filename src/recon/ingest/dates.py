"""Text to dates, vectorised: a given strftime format (or list tried in order) or auto detection.

Auto detection tries common formats in order (ISO first, then day-first or month-first numeric forms as
`dayfirst` says, then forms with month names) and takes the first that parses every non-empty value of the
column. When both the day-first and month-first twin fit every value (no day above 12), the choice follows
`dayfirst` and is recorded as a note. Date-times keep their date part.

Arrow's strptime rolls impossible dates over (2024-02-30 becomes 2024-03-01); such results are caught by
re-reading the day from the text of the few rows where the parsed day is 1 to 3.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recon.ingest.cells import Failure, Parsed, failure, trimmed_text

ISO_DATE = "%Y-%m-%d"
_ISO_DATETIME = r"^(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
ISO_DATETIME = "ISO 8601 date-time"
_SAMPLE = 1000
_TIMES = ("", " %H:%M:%S", " %H:%M")
_DAY_FIRST = [f"%d{sep}%m{sep}{year}" for year in ("%Y", "%y") for sep in "/.-"]
_MONTH_FIRST = [f"%m{sep}%d{sep}{year}" for year in ("%Y", "%y") for sep in "/-."]
_ISO_LIKE = [ISO_DATE, ISO_DATETIME, "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d"]
_NAMED = ["%d %b %Y", "%d-%b-%Y", "%d %B %Y", "%d-%b-%y", "%d %b %y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y"]
_DIRECTIVE_PATTERNS = {
    "d": r"(?P<day>\d{1,2})",
    "e": r"(?P<day>\s?\d{1,2})",
    "m": r"\d{1,2}",
    "Y": r"\d{4}",
    "y": r"\d{2}",
    "H": r"\d{1,2}",
    "I": r"\d{1,2}",
    "M": r"\d{1,2}",
    "S": r"\d{1,2}",
    "j": r"\d{1,3}",
    "p": r"[AaPp][Mm]",
    "b": r"[A-Za-z]+\.?",
    "B": r"[A-Za-z]+",
    "a": r"[A-Za-z]+\.?",
    "A": r"[A-Za-z]+",
    "%": "%",
}


def _with_times(formats: list[str]) -> list[str]:
    return [fmt + time for fmt in formats for time in _TIMES if not (time and "%y" in fmt)]


def candidates(dayfirst: bool) -> list[str]:
    """Formats tried by auto detection, in order."""
    numeric = _with_times(_DAY_FIRST) + _with_times(_MONTH_FIRST)
    if not dayfirst:
        numeric = _with_times(_MONTH_FIRST) + _with_times(_DAY_FIRST)
    return _ISO_LIKE + numeric + _NAMED


def twin(fmt: str) -> str | None:
    """For a numeric day-first or month-first format, the same format with day and month swapped."""
    if not fmt.startswith(("%d", "%m")) or "%d" not in fmt or "%m" not in fmt:
        return None
    return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def _format_regex(fmt: str) -> str:
    parts = re.split(r"(%.)", fmt)
    pattern = "".join(
        _DIRECTIVE_PATTERNS.get(p[1], ".*") if p.startswith("%") else re.escape(p) for p in parts
    )
    return f"^{pattern}$"


def _rolled_over(text: pa.Array, stamps: pa.Array, fmt: str) -> pa.Array:
    """True where strptime accepted an impossible day and rolled into the next month."""
    suspect = pc.fill_null(pc.less_equal(pc.day(stamps), 3), False)
    bad = pa.array(np.zeros(len(text), dtype=bool))
    if not pc.any(suspect).as_py():
        return bad
    where = pc.indices_nonzero(suspect)
    days = pc.struct_field(pc.extract_regex(pc.take(text, where), _format_regex(fmt)), "day")
    wrong = pc.fill_null(
        pc.not_equal(pc.cast(days, pa.int64(), safe=False), pc.day(pc.take(stamps, where))), True
    )
    return pc.replace_with_mask(bad, suspect, wrong)


def parse_with_format(text: pa.Array, fmt: str) -> pa.Array:
    """date32 values of trimmed, non-empty `text`; null where the text does not fit `fmt`."""
    if fmt == ISO_DATE:
        try:
            return pc.cast(text, pa.date32())  # strict YYYY-MM-DD with calendar checks; fails as a whole
        except pa.ArrowInvalid:
            pass  # some cell is not an ISO date: the general path reports them one by one
    if fmt == ISO_DATETIME:
        return parse_with_format(pc.replace_substring_regex(text, _ISO_DATETIME, r"\1"), ISO_DATE)
    stamps = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
    if "%Y" in fmt:
        stamps = pc.if_else(pc.fill_null(pc.less(pc.year(stamps), 1000), False), None, stamps)
    if "%d" in fmt or "%e" in fmt:
        stamps = pc.if_else(_rolled_over(text, stamps, fmt), None, stamps)
    return pc.cast(stamps, pa.date32())


def parse_with_formats(text: pa.Array, formats: Sequence[str]) -> pa.Array:
    """Each cell parsed with the first of `formats` that fits it."""
    result = parse_with_format(text, formats[0])
    for fmt in formats[1:]:
        missing = pc.and_(pc.is_valid(text), pc.is_null(result))
        if not pc.any(missing).as_py():
            break
        result = pc.coalesce(result, parse_with_format(pc.if_else(missing, text, None), fmt))
    return result


@dataclass(frozen=True, slots=True)
class Detection:
    format: str | None
    values: pa.Array
    ambiguous_with: str | None = None


def _fits_all(text: pa.Array, fmt: str) -> tuple[bool, pa.Array]:
    parsed = parse_with_format(text, fmt)
    return len(parsed) - parsed.null_count == len(text) - text.null_count, parsed


def detect_format(text: pa.Array, dayfirst: bool) -> Detection:
    """The first candidate that parses every non-null cell of `text`, else the best partial fit."""
    present = pc.indices_nonzero(pc.is_valid(text))
    if len(present) == 0:
        return Detection(None, pa.nulls(len(text), pa.date32()))
    sample = pc.take(
        text, pc.take(present, pa.array(range(0, len(present), max(1, len(present) // _SAMPLE))))
    )
    tried = candidates(dayfirst)
    for fmt in tried:
        if _fits_all(sample, fmt)[0]:
            fits, parsed = _fits_all(text, fmt)
            if fits:
                other = twin(fmt)
                ambiguous = (
                    other if other and _fits_all(sample, other)[0] and _fits_all(text, other)[0] else None
                )
                return Detection(fmt, parsed, ambiguous)
    scores = [
        (len(sample) - parse_with_format(sample, fmt).null_count, -i, fmt) for i, fmt in enumerate(tried)
    ]
    count, _, fmt = max(scores)
    if count == 0:
        return Detection(None, pa.nulls(len(text), pa.date32()))
    return Detection(fmt, parse_with_format(text, fmt))


def parse_date_text(values: pa.Array, formats: Sequence[str], dayfirst: bool = True) -> Parsed:
    text = trimmed_text(values)
    if tuple(formats) != ("auto",):
        shown = formats[0] if len(formats) == 1 else "any of " + ", ".join(formats)
        result = parse_with_formats(text, formats)
        return Parsed(result, _failed(text, result, f"is not a date in format {shown}"))
    found = detect_format(text, dayfirst)
    if found.format is None:
        reason = "is not a date in any known format (set read.date_format)"
        return Parsed(found.values, _failed(text, found.values, reason))
    note = found.format
    if found.ambiguous_with:
        order = "day-first" if dayfirst else "month-first"
        note = f"{found.format} (also fits {found.ambiguous_with}; chose {order} as dayfirst={dayfirst})"
    reason = f"is not a date in the detected format {found.format} (set read.date_format)"
    return Parsed(found.values, _failed(text, found.values, reason), note)


def _failed(text: pa.Array, result: pa.Array, reason: str) -> list[Failure]:
    return failure(pc.and_(pc.is_valid(text), pc.is_null(result)), reason)
