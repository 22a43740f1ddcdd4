"""BAI2 cash management balance reporting, streamed record by record.

Records: 01 file header, 02 group header (as-of date, currency), 03 account (summary and status amounts with
item counts and fund types), 16 transaction detail, 88 continuation, 49 account trailer, 98 group trailer,
99 file trailer. Fields are comma separated and a record ends with `/`; the text of a 16 record runs to the
end of the record and its 88 continuations. A continuation after a record that ended with `/` continues
its fields; otherwise it continues the text (joined with a space).

Amounts have no decimal point: the currency's minor units give the scale (USD cents, JPY yen, KWD fils).
A detail's sign comes from its type code: 100-399 (and 706-728, 827, 829, 900-919) are credits, 400-699
(and 760, 828, 920-999) debits; other codes in a 16 record are refused, since their sign is unknown.

Checked: every account, group and file control total (the algebraic sum of the amounts as written) and
record count in the 49, 98 and 99 trailers; opening ledger (010) + details = closing ledger (015).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, BinaryIO

from recon.ingest.statements.currency import minor_units
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
    ymd,
)

RAW_COLUMNS = ("type_code", "funds_type", "bank_reference", "customer_reference", "text", "as_of_date")
OPENING_LEDGER, CLOSING_LEDGER = "010", "015"
NON_MONETARY = "890"
_CREDIT_EXTRA = frozenset({"706", "708", *(str(c) for c in range(720, 729)), "827", "829"})
_DEBIT_EXTRA = frozenset({"760", "828"})


def detail_sign(code: str) -> int | None:
    """+1 for a credit detail code, -1 for a debit, None when the code's direction is not defined."""
    if not code.isdigit() or len(code) != 3:
        return None
    number = int(code)
    if 100 <= number <= 399 or 900 <= number <= 919 or code in _CREDIT_EXTRA or code == NON_MONETARY:
        return 1
    if 400 <= number <= 699 or 920 <= number <= 999 or code in _DEBIT_EXTRA:
        return -1
    return None


@dataclass(slots=True)
class _Record:
    code: str
    text: str  # the logical record: the physical record and its 88 continuations, without the final "/"
    line: int
    physical: int = 1


@dataclass(slots=True)
class _Totals:
    amount: int = 0
    records: int = 0
    children: int = 0


@dataclass(slots=True)
class _Group:
    as_of: dt.date
    currency: str
    line: int
    totals: _Totals = field(default_factory=_Totals)


def _integer(text: str, line: int, what: str, *, blank_ok: bool = True) -> int | None:
    body = text.strip()
    if not body:
        if blank_ok:
            return None
        raise fail(f"{what} is missing", line=line)
    digits = body[1:] if body[:1] in "+-" else body
    if not digits.isdigit() or not digits.isascii():
        raise fail(f"{what} {body!r} is not a whole number (BAI2 amounts have no decimal point)", line=line)
    return int(body)


def _scaled(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-minor_units(currency))


class _Fields:
    """The comma-separated fields of a logical record, consumed left to right."""

    def __init__(self, record: _Record) -> None:
        self.record = record
        self.items = record.text.split(",")
        self.at = 1  # after the record code

    def next(self) -> str:
        value = self.items[self.at].strip() if self.at < len(self.items) else ""
        self.at += 1
        return value

    def more(self) -> bool:
        return self.at < len(self.items) and any(item.strip() for item in self.items[self.at :])

    def rest(self) -> str:
        text = ",".join(self.items[self.at :])
        self.at = len(self.items)
        return text

    def funds(self, line: int, currency: str) -> tuple[str, dict[str, Any], int]:
        """The funds type and its extra fields; the minor-unit amounts they add to the control total."""
        kind = self.next().upper()
        extra: dict[str, Any] = {}
        if kind == "S":
            parts = [_integer(self.next(), line, f"funds type S amount {n}") or 0 for n in (1, 2, 3)]
            extra["availability"] = parts
        elif kind == "V":
            extra["value_date"] = self.next()
            extra["value_time"] = self.next()
        elif kind == "D":
            count = _integer(self.next(), line, "funds type D number of distributions") or 0
            if count < 0 or count > 100:
                raise fail(f"funds type D: {count} distributions is out of range", line=line)
            extra["distribution"] = [
                (self.next(), _integer(self.next(), line, "funds type D amount") or 0) for _ in range(count)
            ]
        elif kind not in ("", "0", "1", "2", "Z"):
            raise fail(f"funds type {kind!r} is not one of 0, 1, 2, Z, S, V, D", line=line)
        return kind, extra, 0


class _Parser:
    def __init__(self, limits: StatementLimits) -> None:
        self.limits = limits
        self.file_id: str | None = None
        self.file_line = 0
        self.file = _Totals()
        self.group: _Group | None = None
        self.statement: Statement | None = None
        self.account = _Totals()
        self.ended = False

    def records(self, stream: BinaryIO, encoding: str) -> Iterator[_Record]:
        pending: _Record | None = None
        for number, text in text_lines(stream, self.limits, encoding):
            body = text.strip()
            if not body:
                continue
            code = body.split(",", 1)[0].strip()
            if code == "88":
                if pending is None:
                    raise fail("a continuation record (88) without a record to continue", line=number)
                rest = body.split(",", 1)[1] if "," in body else ""
                if pending.text.endswith("/"):
                    pending.text = pending.text[:-1] + "," + rest
                else:
                    pending.text = f"{pending.text} {rest}" if pending.text.strip() else rest
                pending.physical += 1
                if len(pending.text) > self.limits.max_field_chars:
                    raise fail(f"a record longer than {self.limits.max_field_chars} characters", line=number)
                continue
            if pending is not None:
                yield pending
            pending = _Record(code, body, number)
        if pending is not None:
            yield pending

    def run(self, stream: BinaryIO, encoding: str) -> Iterator[Event]:
        seen_any = False
        for record in self.records(stream, encoding):
            if not seen_any and record.code != "01":
                raise fail(
                    f"a BAI2 file starts with a 01 file header record, not {record.code!r}", line=record.line
                )
            seen_any = True
            if self.ended:
                if record.code == "01":  # several files concatenated
                    self.ended = False
                else:
                    raise fail(f"record {record.code!r} after the file trailer (99)", line=record.line)
            record.text = (
                record.text[:-1] if record.text.endswith("/") and record.code != "16" else record.text
            )
            self.file.records += record.physical
            if self.group is not None:
                self.group.totals.records += record.physical
            if self.statement is not None:
                self.account.records += record.physical
            handler = _HANDLERS.get(record.code)
            if handler is None:
                raise fail(f"unknown record type {record.code!r}", line=record.line)
            yield from handler(self, record)
        if not seen_any:
            raise fail("the file is empty")
        if not self.ended:
            raise fail("the file ends without a file trailer (99): it is incomplete")

    # -- records -------------------------------------------------------------------------------------------
    def file_header(self, record: _Record) -> Iterator[Event]:
        fields = _Fields(record)
        sender, receiver, created = fields.next(), fields.next(), fields.next()
        fields.next()  # creation time
        self.file_id = fields.next() or created or "1"
        ymd(created, line=record.line, what="file creation date")
        self.file_line = record.line
        self.file = _Totals(records=record.physical)
        del sender, receiver
        return iter(())

    def group_header(self, record: _Record) -> Iterator[Event]:
        if self.group is not None:
            raise fail("a group header (02) before the previous group's trailer (98)", line=record.line)
        fields = _Fields(record)
        fields.next()  # ultimate receiver
        fields.next()  # originator
        fields.next()  # group status
        as_of = ymd(fields.next(), line=record.line, what="as-of date")
        fields.next()  # as-of time
        currency = fields.next().upper() or "USD"
        self.group = _Group(as_of, currency, record.line, _Totals(records=record.physical))
        return iter(())

    def account_header(self, record: _Record) -> Iterator[Event]:
        group = self._group(record)
        if self.statement is not None:
            raise fail("an account record (03) before the previous account's trailer (49)", line=record.line)
        fields = _Fields(record)
        account = fields.next()
        if not account:
            raise fail("the account number is missing", line=record.line)
        currency = fields.next().upper() or group.currency
        minor_units(currency, line=record.line)
        self.account = _Totals(records=record.physical)
        statement = Statement(
            id=f"{self.file_id}/{account}/{group.as_of.isoformat()}",
            account=account,
            currency=currency,
            where=f"line {record.line}",
            line=record.line,
            info={"as_of_date": group.as_of.isoformat()},
        )
        while fields.more():
            code = fields.next()
            amount = _integer(fields.next(), record.line, f"amount of type code {code}")
            count = fields.next()
            fields.funds(record.line, currency)
            if amount is None:
                continue
            self.account.amount += amount
            if code == OPENING_LEDGER:
                statement.opening = Balance(_scaled(amount, currency), currency, group.as_of, code)
            elif code == CLOSING_LEDGER:
                statement.closing = Balance(_scaled(amount, currency), currency, group.as_of, code)
            else:
                statement.info[f"summary_{code}"] = f"{_scaled(amount, currency)}" + (
                    f" ({count})" if count else ""
                )
        self.statement = statement
        yield Opened(statement)

    def detail(self, record: _Record) -> Iterator[Event]:
        group, statement = self._group(record), self.statement
        if statement is None:
            raise fail("a transaction detail (16) outside an account (03 ... 49)", line=record.line)
        fields = _Fields(record)
        code = fields.next()
        sign = detail_sign(code)
        if sign is None:
            raise fail(
                f"type code {code!r} is not a transaction detail code with a known direction",
                line=record.line,
            )
        minor = _integer(fields.next(), record.line, "amount", blank_ok=code == NON_MONETARY) or 0
        if minor < 0:
            raise fail(
                "a detail amount must not be signed: the type code gives the direction", line=record.line
            )
        funds, extra, _ = fields.funds(record.line, statement.currency or group.currency)
        bank_ref, customer_ref = fields.next(), fields.next()
        text = fields.rest().strip()
        text = text[:-1].rstrip() if text.endswith("/") else text
        self.account.amount += minor
        value_date = None
        if funds == "V" and extra.get("value_date"):
            value_date = ymd(extra["value_date"], line=record.line, what="funds type V value date")
        currency = statement.currency or group.currency
        yield Entry(
            statement=statement,
            amount=sign * _scaled(minor, currency),
            currency=currency,
            booking_date=group.as_of,
            value_date=value_date,
            reference=customer_ref or None,
            counterparty=None,
            description=text or None,
            raw={
                "type_code": code,
                "funds_type": funds or None,
                "bank_reference": bank_ref or None,
                "customer_reference": customer_ref or None,
                "text": text or None,
                "as_of_date": group.as_of,
            },
            line=record.line,
        )

    def account_trailer(self, record: _Record) -> Iterator[Event]:
        group, statement = self._group(record), self.statement
        if statement is None:
            raise fail("an account trailer (49) without an account record (03)", line=record.line)
        fields = _Fields(record)
        total = _integer(fields.next(), record.line, "account control total", blank_ok=False)
        count = _integer(fields.next(), record.line, "number of records", blank_ok=False)
        _check(self.account, total, count, level="account", name=statement.id, line=record.line)
        group.totals.amount += self.account.amount
        group.totals.children += 1
        self.statement = None
        yield Closed(statement)

    def group_trailer(self, record: _Record) -> Iterator[Event]:
        group = self._group(record)
        if self.statement is not None:
            raise fail(
                f"the group ends inside account {self.statement.account} (no 49 trailer)", line=record.line
            )
        _check_trailer(record, group.totals, level="group", children="accounts", name=f"line {group.line}")
        self.file.amount += group.totals.amount
        self.file.children += 1
        self.group = None
        return iter(())

    def file_trailer(self, record: _Record) -> Iterator[Event]:
        if self.group is not None:
            raise fail("the file ends inside a group (no 98 trailer)", line=record.line)
        _check_trailer(record, self.file, level="file", children="groups", name=str(self.file_id))
        self.ended = True
        return iter(())

    def _group(self, record: _Record) -> _Group:
        if self.group is None:
            raise fail(f"record {record.code} outside a group (02 ... 98)", line=record.line)
        return self.group


def _check_trailer(record: _Record, totals: _Totals, *, level: str, children: str, name: str) -> None:
    """A group (98) or file (99) trailer: its control total, number of accounts or groups and number of
    records, each against what was read."""
    fields = _Fields(record)
    total = _integer(fields.next(), record.line, f"{level} control total", blank_ok=False)
    stated = _integer(fields.next(), record.line, f"number of {children}", blank_ok=False)
    count = _integer(fields.next(), record.line, "number of records", blank_ok=False)
    if stated != totals.children:
        raise fail(
            f"the {level} trailer says {stated} {children}, the {level} has {totals.children}",
            line=record.line,
        )
    _check(totals, total, count, level=level, name=name, line=record.line)


def _check(
    totals: _Totals, total: int | None, count: int | None, *, level: str, name: str, line: int
) -> None:
    if total != totals.amount:
        assert total is not None
        raise fail(
            f"{level} {name}: the control total is {total} but the amounts sum to {totals.amount} "
            f"(difference {total - totals.amount}, in minor units)",
            line=line,
        )
    if count != totals.records:
        raise fail(
            f"{level} {name}: the trailer counts {count} records, there are {totals.records}", line=line
        )


_HANDLERS = {
    "01": _Parser.file_header,
    "02": _Parser.group_header,
    "03": _Parser.account_header,
    "16": _Parser.detail,
    "49": _Parser.account_trailer,
    "98": _Parser.group_trailer,
    "99": _Parser.file_trailer,
}


def bai2_events(stream: BinaryIO, limits: StatementLimits, encoding: str = "auto") -> Iterator[Event]:
    """Events of a BAI2 file (see recon.ingest.statements.model)."""
    return _Parser(limits).run(stream, encoding)
