"""The canonical statement shape every bank format is parsed into.

A parser is a generator of events over a binary stream: `Opened(statement)` when a statement's header is known
(id, account, currency, opening balance where the format puts it first), one `Entry` per booked line, then
`Closed(statement)` with the balances and control figures complete. Events keep memory bounded: a consumer
never needs more than one statement's header and one entry at a time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from recon.ingest.errors import IngestError


@dataclass(slots=True)
class Balance:
    """A balance as the file states it: signed amount (credit positive), currency, date and its kind
    (the format's own code: 60F, OPBD, 010, LEDGERBAL ...)."""

    amount: Decimal
    currency: str | None
    date: dt.date | None
    kind: str


@dataclass(slots=True)
class Statement:
    """One statement (an account's report for a period); `where` locates it in the file for errors."""

    id: str
    account: str
    currency: str | None
    where: str
    line: int | None = None
    opening: Balance | None = None
    closing: Balance | None = None
    # Figures the file itself states about its entries (CAMT TxsSummry): checked against the entries.
    stated_count: int | None = None
    stated_net: Decimal | None = None
    info: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Entry:
    """One transaction: amount signed (credits positive, debits negative), booking date, raw fields kept.

    `booked` is False for entries that do not move the booked balance (CAMT status PDNG/INFO); they are
    still listed but left out of the balance check.
    """

    statement: Statement
    amount: Decimal
    currency: str | None
    booking_date: dt.date | None
    value_date: dt.date | None
    reference: str | None
    counterparty: str | None
    description: str | None
    raw: dict[str, Any]
    line: int | None = None
    where: str | None = None
    booked: bool = True


@dataclass(frozen=True, slots=True)
class Opened:
    statement: Statement


@dataclass(frozen=True, slots=True)
class Closed:
    statement: Statement


Event = Opened | Entry | Closed


@dataclass(frozen=True, slots=True)
class StatementLimits:
    """Bounds a parser enforces while it streams (the hostile-input limits, taken from ReadOptions when it
    carries them; see `limits_from`)."""

    max_line_bytes: int = 1 << 20  # one physical line (MT940, BAI2) or one OFX token
    max_entries: int = 50_000_000
    max_depth: int = 64  # XML / OFX nesting
    max_field_chars: int = 100_000  # one text field after continuation lines are joined


_LIMIT_OPTIONS = {
    "max_line_bytes": ("max_line_bytes", "max_bytes_per_line", "max_row_bytes"),
    "max_entries": ("max_rows", "max_records"),
    "max_depth": ("max_depth", "max_nesting_depth"),
    "max_field_chars": ("max_field_chars", "max_cell_chars", "max_cell_bytes"),
}


def limits_from(options: object) -> StatementLimits:
    """The limits an options object carries (any of the attribute names above); defaults for the others."""
    values: dict[str, int] = {}
    options = getattr(options, "limits", options)  # ReadOptions carries the process's IngestLimits
    for name, candidates in _LIMIT_OPTIONS.items():
        for candidate in candidates:
            value = getattr(options, candidate, None)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                values[name] = value
                break
    return StatementLimits(**values)


def fail(message: str, *, line: int | None = None, where: str | None = None) -> IngestError:
    """A parse error naming the line (text formats) or the element (XML) and the reason."""
    return IngestError(f"{where}: {message}" if where else message, line=line)


def pivot_year(two_digits: int) -> int:
    """Two-digit years: 00-79 are 2000-2079, 80-99 are 1980-1999 (statements are never older)."""
    return 2000 + two_digits if two_digits < 80 else 1900 + two_digits


def ymd(text: str, *, line: int | None = None, where: str | None = None, what: str = "date") -> dt.date:
    """YYMMDD or YYYYMMDD as a date."""
    if not text.isdigit() or len(text) not in (6, 8):
        raise fail(f"{what} {text!r} is not YYMMDD or YYYYMMDD", line=line, where=where)
    year = pivot_year(int(text[:2])) if len(text) == 6 else int(text[:4])
    month, day = int(text[-4:-2]), int(text[-2:])
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise fail(f"{what} {text!r} is not a calendar date", line=line, where=where) from None


def plain(amount: Decimal) -> str:
    """A decimal as plain text, never in exponent notation."""
    return format(amount, "f")


MAX_SCALE = 10  # decimal places kept exactly (the database stores NUMERIC(38, 10))
MAX_INTEGER_DIGITS = 24


def money(
    text: str,
    *,
    decimal: str = ".",
    signed: bool = False,
    line: int | None = None,
    where: str | None = None,
    what: str = "amount",
) -> Decimal:
    """Exact decimal of an amount text: digits with at most one decimal separator (`decimal`, one of ".,"
    or both), an optional sign when `signed`; nothing else (no grouping, no exponent, no spaces inside)."""
    body = text.strip()
    sign = ""
    if signed and body[:1] in ("+", "-"):
        sign, body = body[0], body[1:]
    separator = next((c for c in body if c in ".,"), None)
    digits = body.replace(separator, "", 1) if separator else body
    if (
        not body
        or (separator is not None and separator not in decimal)
        or not digits.isdigit()
        or not digits.isascii()
    ):
        raise fail(f"{what} {text.strip()!r} is not a valid amount", line=line, where=where)
    whole, _, fraction = body.partition(separator) if separator else (body, "", "")
    if len(whole.lstrip("0")) > MAX_INTEGER_DIGITS or len(fraction.rstrip("0")) > MAX_SCALE:
        raise fail(
            f"{what} {text.strip()!r} has more than {MAX_INTEGER_DIGITS} digits "
            f"or {MAX_SCALE} decimal places",
            line=line,
            where=where,
        )
    value = Decimal(f"{whole or '0'}.{fraction[:MAX_SCALE]}" if fraction else whole or "0")
    return -value if sign == "-" and value else value
