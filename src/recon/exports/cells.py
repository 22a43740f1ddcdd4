"""Cell values of an export: formula-injection neutralisation and exact money formatting.

Only text cells are neutralised: a spreadsheet evaluates text beginning with `=`, `+`, `-`, `@`, tab or CR
as a formula (DDE payloads such as `=cmd|' /C calc'!A0`), so such a cell gets a leading `'` in CSV and XLSX.
Numbers are written as numbers and never touched (a negative amount is `-12.50`, not `'-12.50`). JSON
lines are not opened by spreadsheets and keep every value as it is.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from recon.core.money import render_amount

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Excel shows at most 15 significant digits of a number cell (an IEEE double); longer amounts are text.
XLSX_MAX_DIGITS = 15
# Excel's limit on the characters of one cell.
XLSX_MAX_CELL_CHARS = 32_767
XLSX_TRUNCATION_MARK = "…[truncated]"
# Characters XML 1.0 cannot hold (openpyxl refuses them); shown as U+FFFD in XLSX.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def neutralise(text: str) -> str:
    """Prefix a text cell that a spreadsheet would read as a formula with a single quote."""
    return "'" + text if text.startswith(DANGEROUS_PREFIXES) else text


def money_text(value: Decimal) -> str:
    """Fixed-point text of an amount, at least two decimals, never exponent notation:
    Decimal('-12.5000000000') (PostgreSQL NUMERIC(38, 10)) -> '-12.50', Decimal('7') -> '7.00',
    Decimal('0.125') -> '0.125'."""
    if not value.is_finite():
        raise ValueError(f"an amount must be finite, not {value}")
    if not value:
        return "0.00"  # also for -0 and 0E-10
    text = f"{value:f}"  # exact, no exponent
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction:0<2}"


@dataclass(frozen=True, slots=True)
class Amount:
    """An amount and its currency: rendered with the currency's minor-unit digits (2.50, 1500 JPY)."""

    value: Decimal
    currency: str | None

    def text(self) -> str:
        return render_amount(self.value, self.currency)


def significant_digits(value: Decimal) -> int:
    digits = value.normalize().as_tuple().digits
    return len(digits) if digits != (0,) else 1


def timestamp_text(value: dt.datetime) -> str:
    """ISO 8601 in UTC with the offset (the audit chain hashes timestamps in exactly this form)."""
    if value.tzinfo is None:
        raise ValueError("timestamps in exports must be timezone-aware (UTC)")
    return (value if value.tzinfo is dt.UTC else value.astimezone(dt.UTC)).isoformat()


def json_text(value: Any) -> str:
    """Canonical JSON of a document cell (sorted keys, no whitespace), as the audit chain hashes it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def csv_cell(value: Any) -> str:
    """The text of one CSV cell."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Amount):
        return value.text()
    if isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return timestamp_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return neutralise(json_text(value))
    raise TypeError(f"no CSV form for a {type(value).__name__}")


def _csv_json(value: Any) -> str:
    return neutralise(json_text(value))


# Exact type -> CSV text (the hot path: one lookup per cell instead of a chain of isinstance checks).
_CSV_BY_TYPE: dict[type, Callable[[Any], str]] = {
    str: neutralise,
    Amount: Amount.text,
    Decimal: money_text,
    int: str,
    float: repr,
    dt.date: dt.date.isoformat,
    dt.datetime: timestamp_text,
    dict: _csv_json,
    list: _csv_json,
}


_NUMBERS = (Amount, Decimal, float)


def csv_row(row: Sequence[Any], decimal_separator: str = ".") -> list[str]:
    """The CSV texts of a row (as `csv_cell` of each value, faster); numbers with `decimal_separator`."""
    by_type = _CSV_BY_TYPE
    texts = ["" if value is None else by_type.get(type(value), csv_cell)(value) for value in row]
    if decimal_separator != ".":
        for i, value in enumerate(row):
            if isinstance(value, _NUMBERS):
                texts[i] = texts[i].replace(".", decimal_separator)
    return texts


def json_value(value: Any) -> Any:
    """The JSON form of one value: amounts as exact decimal strings, dates and timestamps as ISO text."""
    if isinstance(value, Amount):
        return value.text()
    if isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, dt.datetime):
        return timestamp_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def xlsx_text(text: str) -> str:
    """A text cell as XLSX can hold it: neutralised (on the original text), XML-illegal control characters
    replaced by U+FFFD, line ends as LF (XML parsers turn a stored CR into LF anyway), cut at Excel's cell
    limit with a visible mark (never silently)."""
    text = _XML_ILLEGAL.sub("\ufffd", neutralise(text)).replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > XLSX_MAX_CELL_CHARS:
        text = text[: XLSX_MAX_CELL_CHARS - len(XLSX_TRUNCATION_MARK)] + XLSX_TRUNCATION_MARK
    return text


def xlsx_money(value: Decimal) -> tuple[Decimal | str, str | None]:
    """(cell value, number format) of an amount: a number cell with as many decimals as the amount needs
    (at least two) when a double holds it exactly (<= 15 significant digits), else the exact decimal text.
    The text form is a plain decimal literal (digits, sign, point), so it is not prefixed with a quote."""
    text = money_text(value)
    if significant_digits(value) > XLSX_MAX_DIGITS:
        return text, None
    places = len(text.partition(".")[2])
    return Decimal(text), "#,##0." + "0" * places
