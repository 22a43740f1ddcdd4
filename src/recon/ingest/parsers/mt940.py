"""SWIFT MT940 (customer statement) and MT950 (statement message), streamed line by line.

Liberal in the framing: SWIFT blocks (`{1:...}{2:O940...}{4:` ... `-}{5:...}`), several messages per file,
header lines before the first tag, CRLF/LF/CR, trailing spaces, SOH/ETX characters, `-` separators.
Strict about money: every balance and entry amount must be a valid SWIFT amount, each statement must have
its opening (:60F:/:60M:) and closing (:62F:/:62M:) balance, and those must agree with the entries.

:61: is `value date (YYMMDD) [entry date (MMDD)] mark [funds code] amount type customer-ref [//bank-ref]`
with an optional second line of supplementary details. Marks: C credit, D debit, RC reversal of a credit
(a debit: negative), RD reversal of a debit (a credit: positive). Dates may also carry 4-digit years.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from recon.ingest.parsers.mt940_info import INFORMATION_FIELDS, parse_information
from recon.ingest.statements.lines import text_lines
from recon.ingest.statements.model import (
    Balance,
    Closed,
    Entry,
    Event,
    Opened,
    Statement,
    StatementLimits,
    fail,
    money,
    ymd,
)

RAW_COLUMNS = (
    "message_type",
    "entry_date",
    "dc_mark",
    "funds_code",
    "transaction_type",
    "customer_reference",
    "bank_reference",
    "supplementary_details",
    "information",
    *INFORMATION_FIELDS,
)
# Field tags; NS is the non-SWIFT field some banks add (ignored, but it must not extend the field before it).
_TAG = re.compile(r"^:(\d\d[A-Z]?|NS):(.*)$")
_BLOCK2 = re.compile(r"\{2:[IO](\d{3})")
_BALANCE = re.compile(r"^([CD])(\d{6}|\d{8})([A-Z]{3})([0-9][0-9,.]*)$")
_AMOUNT = re.compile(r"[0-9][0-9,.]*")
_TYPE = re.compile(r"[A-Z][A-Z0-9]{3}")
# "EREF" in the customer reference (ING) points to the end-to-end reference in :86:.
_NOT_PROVIDED = frozenset({"NONREF", "NOTPROVIDED", "NONE", "EREF", ""})


@dataclass(slots=True)
class _Field:
    tag: str
    lines: list[str]
    line: int


@dataclass(slots=True)
class _State:
    message_type: str = "940"
    reference: str | None = None
    account: str | None = None
    sequence: str | None = None
    statement: Statement | None = None
    entry: Entry | None = None
    entry_lines: list[str] = field(default_factory=list)
    started_line: int | None = None


def _balance(content: str, tag: str, line: int) -> Balance:
    match = _BALANCE.match(content.replace(" ", ""))
    if match is None:
        raise fail(
            f":{tag}: {content!r} is not a balance (mark C/D, date YYMMDD, currency, amount with ',')",
            line=line,
        )
    mark, date, currency, amount = match.groups()
    value = money(amount, decimal=",.", line=line, what=f":{tag}: amount")
    return Balance(
        amount=-value if mark == "D" else value,
        currency=currency,
        date=ymd(date, line=line, what=f":{tag}: date"),
        kind=tag,
    )


def _entry_date(value_date: dt.date, mmdd: str, line: int) -> dt.date:
    """The entry date has no year: the one closest to the value date (a December value date may be booked
    in January)."""
    month, day = int(mmdd[:2]), int(mmdd[2:])
    candidates = []
    for year in (value_date.year - 1, value_date.year, value_date.year + 1):
        try:
            candidates.append(dt.date(year, month, day))
        except ValueError:
            continue
    if not candidates:
        raise fail(f":61: entry date {mmdd!r} is not a valid MMDD", line=line)
    return min(candidates, key=lambda d: abs((d - value_date).days))


def _dates(text: str, line: int) -> tuple[dt.date, dt.date | None, str | None, str]:
    digits = len(text) - len(text.lstrip("0123456789"))
    if digits not in (6, 8, 10, 12):
        raise fail(
            ":61: must start with the value date (YYMMDD) and an optional entry date (MMDD), "
            f"got {text[:12]!r}",
            line=line,
        )
    year_digits = 6 if digits in (6, 10) else 8
    value_date = ymd(text[:year_digits], line=line, what=":61: value date")
    entry_raw = text[year_digits:digits] or None
    entry_date = _entry_date(value_date, entry_raw, line) if entry_raw else None
    return value_date, entry_date, entry_raw, text[digits:]


def _statement_line(content: list[str], line: int, statement: Statement, state: _State) -> Entry:
    first = content[0].strip()
    value_date, entry_date, entry_raw, rest = _dates(first, line)
    if rest[:2] in ("RC", "RD"):
        mark, rest = rest[:2], rest[2:]
    elif rest[:1] in ("C", "D"):
        mark, rest = rest[:1], rest[1:]
    else:
        raise fail(f":61: expected the mark C, D, RC or RD after the dates, got {rest[:3]!r}", line=line)
    funds = None
    if rest[:1].isalpha():
        funds, rest = rest[0], rest[1:]
    amount_match = _AMOUNT.match(rest)
    if amount_match is None:
        raise fail(f":61: expected an amount after the mark {mark!r}, got {rest[:15]!r}", line=line)
    amount = money(amount_match.group(), decimal=",.", line=line, what=":61: amount")
    rest = rest[amount_match.end() :]
    if rest and not ("A" <= rest[0] <= "Z"):  # the transaction type (S, N or F + code) follows at once
        raise fail(f":61: the amount {amount_match.group()!r} is followed by {rest[:1]!r}", line=line)
    transaction_type = None
    if _TYPE.match(rest):
        transaction_type, rest = rest[:4], rest[4:]
    customer_ref, _, bank_ref = rest.partition("//")
    supplementary = " ".join(part.strip() for part in content[1:] if part.strip()) or None
    signed = -amount if mark in ("D", "RC") else amount
    raw: dict[str, Any] = {
        "message_type": state.message_type,
        "entry_date": entry_raw,
        "dc_mark": mark,
        "funds_code": funds,
        "transaction_type": transaction_type,
        "customer_reference": customer_ref.strip() or None,
        "bank_reference": bank_ref.strip() or None,
        "supplementary_details": supplementary,
    }
    reference = customer_ref.strip()
    return Entry(
        statement=statement,
        amount=signed,
        currency=statement.currency,
        booking_date=entry_date or value_date,
        value_date=value_date,
        reference=None if reference.upper() in _NOT_PROVIDED else reference,
        counterparty=None,
        description=supplementary,
        raw=raw,
        line=line,
    )


def _with_information(entry: Entry, lines: list[str]) -> None:
    info = parse_information(lines)
    entry.raw["information"] = "\n".join(lines)
    entry.raw.update(info.fields)
    entry.description = info.description or entry.description
    entry.counterparty = info.counterparty
    entry.reference = entry.reference or info.reference


class _Parser:
    def __init__(self, limits: StatementLimits) -> None:
        self.limits = limits
        self.state = _State()
        self.current: _Field | None = None

    def _new_statement(self, line: int) -> Statement:
        state = self.state
        if state.reference is None and state.account is None:
            raise fail("a statement needs :20: (reference) and :25: (account) before its balances", line=line)
        reference = state.reference or state.account or "?"
        ident = f"{reference}/{state.sequence}" if state.sequence else reference
        return Statement(
            id=ident,
            account=state.account or "",
            currency=None,
            where=f"line {state.started_line or line}",
            line=state.started_line or line,
            info={"message_type": state.message_type},
        )

    def _flush_entry(self) -> Iterator[Event]:
        state = self.state
        if state.entry is not None:
            yield state.entry
            state.entry = None

    def _close(self, line: int) -> Iterator[Event]:
        """End of the current statement (next :20:, end of message or of file)."""
        yield from self._flush_entry()
        statement = self.state.statement
        if statement is None:
            return
        if statement.closing is None:
            raise fail(
                f"statement {statement.id!r} (account {statement.account}) ends without a closing "
                "balance (:62F: or :62M:)",
                line=line,
            )
        self.state.statement = None
        yield Closed(statement)

    def field(self, item: _Field) -> Iterator[Event]:
        state = self.state
        tag, line = item.tag, item.line
        content = "".join(item.lines).strip() if tag not in ("61", "86") else ""
        if tag == "20":
            yield from self._close(line)
            state.reference, state.account, state.sequence = content or None, None, None
            state.started_line = line
        elif tag in ("25", "25P"):
            state.account = item.lines[0].strip() if item.lines else ""
        elif tag in ("28", "28C"):
            state.sequence = content or None
        elif tag in ("60F", "60M"):
            if state.statement is not None and state.statement.closing is not None:
                yield from self._close(line)  # a second balance sequence without a new :20:
            if state.statement is not None:
                raise fail(f":{tag}: a second opening balance in statement {state.statement.id!r}", line=line)
            statement = self._new_statement(line)
            statement.opening = _balance(content, tag, line)
            statement.currency = statement.opening.currency
            state.statement = statement
            yield Opened(statement)
        elif tag == "61":
            statement = self._require_statement(tag, line)
            yield from self._flush_entry()
            if statement.closing is not None:
                raise fail(":61: an entry after the closing balance (:62F:/:62M:)", line=line)
            state.entry = _statement_line(item.lines or [""], line, statement, state)
        elif tag == "86":
            if state.entry is not None:
                _with_information(state.entry, item.lines)
                yield from self._flush_entry()
            elif state.statement is not None:
                state.statement.info["information"] = "\n".join(item.lines)
        elif tag in ("62F", "62M"):
            statement = self._require_statement(tag, line)
            yield from self._flush_entry()
            statement.closing = _balance(content, tag, line)
        elif tag in ("64", "65") and state.statement is not None:
            yield from self._flush_entry()
            state.statement.info[f"balance_{tag}"] = content

    def _require_statement(self, tag: str, line: int) -> Statement:
        if self.state.statement is None:
            raise fail(f":{tag}: comes before the opening balance (:60F: or :60M:)", line=line)
        return self.state.statement

    def end_message(self, line: int) -> Iterator[Event]:
        yield from self._close(line)
        self.state = _State(message_type=self.state.message_type)

    def run(self, stream: BinaryIO, encoding: str) -> Iterator[Event]:
        last_line = 0
        for number, line in text_lines(stream, self.limits, encoding):
            last_line, text = number, line
            while text.strip():
                text = yield from self._segment(text, number)
        yield from self._take_field()
        yield from self._close(last_line)

    def _segment(self, text: str, number: int) -> Generator[Event, None, str]:
        """Consume a line up to its end or up to the end of a message; return what is left of it (the next
        message's blocks may follow `-}` on the same line)."""
        if text.lstrip().startswith("{"):
            kind = _BLOCK2.search(text)
            if kind is not None:
                self.state.message_type = kind.group(1)
            _, found, text = text.partition("{4:")
            return text if found else ""
        stripped = text.strip()
        if stripped in ("-", "$"):
            body, rest, trailer = "", "", True
        elif "-}" in text:
            body, _, rest = text.partition("-}")
            trailer = True
        else:
            body, rest, trailer = text, "", False
        if body.strip():
            tag = _TAG.match(body.lstrip())
            if tag is not None:
                yield from self._take_field()
                self.current = _Field(tag.group(1), [tag.group(2)], number)
            elif self.current is not None:
                self.current.lines.append(body)
                if sum(len(part) for part in self.current.lines) > self.limits.max_field_chars:
                    raise fail(
                        f":{self.current.tag}: longer than {self.limits.max_field_chars} characters",
                        line=number,
                    )
            # Text outside any field (bank header lines such as "ABNANL2A" or "940") is skipped.
        if trailer:
            yield from self._take_field()
            yield from self.end_message(number)
            brace = rest.find("{")
            return rest[brace:] if brace >= 0 else ""
        return ""

    def _take_field(self) -> Iterator[Event]:
        if self.current is not None:
            item, self.current = self.current, None
            yield from self.field(item)


def mt940_events(stream: BinaryIO, limits: StatementLimits, encoding: str = "auto") -> Iterator[Event]:
    """Events of an MT940 or MT950 file (see recon.ingest.statements.model)."""
    return _Parser(limits).run(stream, encoding)
