"""OFX / QFX bank statements (STMTRS) and credit-card statements (CCSTMTRS), SGML 1.x and XML 2.x.

Amounts are signed as the file gives them, from the account holder's side: deposits and payments received
positive, withdrawals and card purchases negative (OFX 1.6 / 2.2, 11.4.4.3). `TRNAMT` must be a plain decimal
(a comma is accepted as the decimal separator when there is no dot). The statement's balance is LEDGERBAL;
OFX states no opening balance, so a statement's opening balance is null and no balance check applies.
A transaction in another currency (`<CURRENCY><CURSYM>`) carries that currency; `ORIGCURRENCY` is kept raw.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, BinaryIO

from recon.ingest.parsers.ofx_tokens import Element, elements
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
)

STATEMENTS = {"STMTRS": "BANKACCTFROM", "CCSTMTRS": "CCACCTFROM"}
RAW_COLUMNS = (
    "fitid",
    "transaction_type",
    "check_number",
    "ref_number",
    "user_date",
    "available_date",
    "server_tid",
    "sic",
    "payee_id",
    "extended_name",
    "original_currency",
    "currency_rate",
    "correct_fitid",
    "correct_action",
    "bank_id",
    "account_type",
    "statement_kind",
)


def _date(text: str | None, line: int, what: str) -> dt.date | None:
    """OFX dates: YYYYMMDD[HHMMSS[.XXX]][[-5:EST]]; a dashed ISO date is accepted too."""
    if text is None:
        return None
    value = text.strip()
    digits = value[:10].replace("-", "") if value[4:5] == "-" else value[:8]
    if len(digits) != 8 or not digits.isdigit():
        raise fail(f"<{what}> {text!r} is not an OFX date (YYYYMMDD...)", line=line)
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise fail(f"<{what}> {text!r} is not a calendar date", line=line) from None


def _amount(text: str | None, line: int, what: str) -> Any:
    if text is None:
        raise fail(f"<{what}> is missing", line=line)
    decimal = ".," if "." not in text else "."
    return money(text, decimal=decimal, signed=True, line=line, what=f"<{what}>")


class _StatementReader:
    def __init__(self, kind: str, line: int, number: int) -> None:
        self.kind = kind
        self.line = line
        self.number = number
        self.fields: dict[str, str] = {}
        self.statement: Statement | None = None
        self.announced = False  # Opened(...) was sent

    def leaf(self, relative: tuple[str, ...], value: str | None) -> None:
        if value is not None:
            self.fields.setdefault(".".join(relative), value)

    def open(self) -> Statement:
        if self.statement is None:
            fields = self.fields
            account_tag = STATEMENTS[self.kind]
            account = fields.get(f"{account_tag}.ACCTID", "")
            start = fields.get("BANKTRANLIST.DTSTART", "")[:8]
            end = fields.get("BANKTRANLIST.DTEND", "")[:8]
            ident = f"{account}/{start}-{end}" if start or end else f"{account}/{self.number}"
            self.statement = Statement(
                id=ident,
                account=account,
                currency=(fields.get("CURDEF") or "").upper() or None,
                where=f"line {self.line}",
                line=self.line,
                info={"kind": self.kind, "bank_id": fields.get(f"{account_tag}.BANKID", "")},
            )
        return self.statement

    def close(self) -> Statement:
        statement = self.open()
        amount = self.fields.get("LEDGERBAL.BALAMT")
        if amount is not None:
            statement.closing = Balance(
                amount=_amount(amount, self.line, "LEDGERBAL/BALAMT"),
                currency=statement.currency,
                date=_date(self.fields.get("LEDGERBAL.DTASOF"), self.line, "LEDGERBAL/DTASOF"),
                kind="LEDGERBAL",
            )
        return statement


def _entry(
    statement: Statement, reader: _StatementReader, fields: dict[str, str], lines: dict[str, int], line: int
) -> Entry:
    def at(name: str) -> int:
        return lines.get(name, line)

    amount = _amount(fields.get("TRNAMT"), at("TRNAMT"), "STMTTRN/TRNAMT")
    posted = _date(fields.get("DTPOSTED"), at("DTPOSTED"), "DTPOSTED")
    if posted is None:
        raise fail("<STMTTRN> has no <DTPOSTED>", line=line)
    check, ref = fields.get("CHECKNUM"), fields.get("REFNUM")
    name = fields.get("NAME") or fields.get("PAYEE.NAME")
    raw: dict[str, Any] = {
        "fitid": fields.get("FITID"),
        "transaction_type": fields.get("TRNTYPE"),
        "check_number": check,
        "ref_number": ref,
        "user_date": _date(fields.get("DTUSER"), at("DTUSER"), "DTUSER"),
        "available_date": _date(fields.get("DTAVAIL"), at("DTAVAIL"), "DTAVAIL"),
        "server_tid": fields.get("SRVRTID"),
        "sic": fields.get("SIC"),
        "payee_id": fields.get("PAYEEID"),
        "extended_name": fields.get("EXTDNAME"),
        "original_currency": fields.get("ORIGCURRENCY.CURSYM"),
        "currency_rate": fields.get("CURRENCY.CURRATE") or fields.get("ORIGCURRENCY.CURRATE"),
        "correct_fitid": fields.get("CORRECTFITID"),
        "correct_action": fields.get("CORRECTACTION"),
        "bank_id": statement.info.get("bank_id") or None,
        "account_type": reader.fields.get(f"{STATEMENTS[reader.kind]}.ACCTTYPE"),
        "statement_kind": "credit_card" if reader.kind == "CCSTMTRS" else "bank",
    }
    return Entry(
        statement=statement,
        amount=amount,
        currency=(fields.get("CURRENCY.CURSYM") or "").upper() or statement.currency,
        booking_date=posted,
        value_date=raw["available_date"],
        reference=check or ref,
        counterparty=name,
        description=fields.get("MEMO"),
        raw=raw,
        line=line,
    )


def _events(items: Iterator[Element]) -> Iterator[Event]:
    reader: _StatementReader | None = None
    depth = 0
    transaction: dict[str, str] | None = None
    lines: dict[str, int] = {}
    transaction_line = 0
    statements = 0
    for item in items:
        path = item.path
        name = path[-1]
        if reader is None:
            if item.opened and name in STATEMENTS:
                statements += 1
                reader, depth = _StatementReader(name, item.line, statements), len(path)
            continue
        if item.opened:
            if name == "STMTTRN":
                statement = reader.open()
                if not reader.announced:
                    reader.announced = True
                    yield Opened(statement)
                transaction, lines, transaction_line = {}, {}, item.line
            continue
        if transaction is not None:
            if name == "STMTTRN" and len(path) > depth:
                yield _entry(reader.open(), reader, transaction, lines, transaction_line)
                transaction = None
            elif item.value is not None:
                relative = path[path.index("STMTTRN") + 1 :] if "STMTTRN" in path else path[-1:]
                key = ".".join(relative)
                if key not in transaction:
                    transaction[key], lines[key] = item.value, item.line
            continue
        if len(path) == depth:  # the statement closes
            statement = reader.close()
            if not reader.announced:
                yield Opened(statement)
            yield Closed(statement)
            reader = None
            continue
        reader.leaf(path[depth:], item.value)
    if statements == 0:
        raise fail("the OFX file holds no bank or credit-card statement (STMTRS or CCSTMTRS)")


def ofx_events(stream: BinaryIO, limits: StatementLimits, encoding: str = "auto") -> Iterator[Event]:
    """Events of an OFX/QFX file (see recon.ingest.statements.model)."""
    return _events(elements(stream, limits, encoding))
