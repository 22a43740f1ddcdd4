"""ISO 20022 CAMT.053 (statement), CAMT.052 (account report) and CAMT.054 (debit/credit notification).

Streamed: expat (through defusedxml, which refuses DTDs, entity declarations and external references, so
entity expansion and XXE cannot happen) is fed 64 KiB at a time; only the statement header and the entry being
read are held, flattened to {relative path: text} (a dictionary look-up per field instead of a tree walk).
Every version's namespace is accepted (camt.05x.001.01 to .13, or none); elements are matched by local name,
so an envelope around the Document (a business application header) does not matter.

Signs: `CdtDbtInd` CRDT is positive, DBIT negative, for balances and entries. A reversal (`RvslInd` true)
keeps the indicator's sign: per ISO 20022 a reversed debit is booked as CRDT and a reversed credit as DBIT.
Entries with status PDNG or INFO are listed but do not move the booked balance.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, BinaryIO
from xml.parsers.expat import ExpatError
from xml.parsers.expat import errors as expat_errors

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

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

CHUNK = 1 << 16
MESSAGES = {
    "BkToCstmrStmt": ("Stmt", "053"),
    "BkToCstmrAcctRpt": ("Rpt", "052"),
    "BkToCstmrDbtCdtNtfctn": ("Ntfctn", "054"),
}
OPENING_KINDS = ("OPBD", "PRCD")
CLOSING_KINDS = ("CLBD",)
RAW_COLUMNS = (
    "message_type",
    "entry_reference",
    "account_servicer_reference",
    "status",
    "reversal",
    "bank_transaction_code",
    "proprietary_code",
    "end_to_end_id",
    "instruction_id",
    "tx_id",
    "mandate_id",
    "creditor_reference",
    "counterparty_account",
    "counterparty_bank",
    "ultimate_debtor",
    "ultimate_creditor",
    "purpose_code",
    "additional_info",
    "transactions_count",
)
_CAPTURED = frozenset({"Ntry", "Acct", "Bal", "TxsSummry"})
_HEADER_LEAVES = frozenset({"Id", "ElctrncSeqNb", "LglSeqNb", "CreDtTm"})
_NOT_PROVIDED = frozenset({"", "NOTPROVIDED", "NONREF", "NONE"})
_REPEATED = ("Ustrd",)  # leaves whose repetitions are joined (with a space) instead of the first one kept


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _namespace_type(tag: str) -> str | None:
    namespace = tag.rpartition("}")[0]
    marker = namespace.rfind("camt.")
    return namespace[marker:] if marker >= 0 else None


@dataclass(slots=True)
class _Part:
    """A captured element (Ntry, Bal, Acct, TxsSummry) flattened: every leaf's text under its path relative to
    the element ("Amt", "BookgDt/Dt", "Amt@Ccy" for the attribute), the line where each path starts, and an
    entry's TxDtls as parts of their own."""

    name: str
    line: int
    fields: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    details: list[_Part] = field(default_factory=list)

    def get(self, *paths: str) -> str | None:
        for path in paths:
            value = self.fields.get(path)
            if value:
                return value
        return None

    def line_of(self, path: str) -> int:
        return self.lines.get(path, self.line)


_NO_PART = _Part("", 0)


class _Reader:
    """Turns the stream of XML callbacks into statement events."""

    def __init__(self, limits: StatementLimits) -> None:
        self.limits = limits
        self.events: deque[Event] = deque()
        self.path: list[str] = []
        self.message: tuple[str, str] | None = None  # (statement element, "053"/"052"/"054")
        self.message_type: str | None = None
        self.statements = 0
        self.entries = 0
        self.header: dict[str, Any] = {}
        self.statement: Statement | None = None
        # The part being captured: its root, where its relative paths start, the TxDtls being read if any.
        self.part: _Part | None = None
        self.part_depth = 0
        self.detail: _Part | None = None
        self.detail_depth = 0
        self.starts: list[int] = []
        self.text: list[str] | None = None
        self.line: Callable[[], int] = lambda: 0

    # -- expat callbacks (names are "namespace}local"; attributes a flat [name, value, ...] list) ----------
    def start(self, tag: str, attributes: list[str]) -> None:
        local = tag.rpartition("}")[2]
        path = self.path
        path.append(local)
        if len(path) > self.limits.max_depth:
            raise fail(f"the XML is nested deeper than {self.limits.max_depth} elements", line=self.line())
        if self.part is not None:
            line = self.line()
            self.starts.append(line)
            self.text = []
            if local == "TxDtls" and self.detail is None and path[-2] == "NtryDtls":
                self.detail = _Part("TxDtls", line)
                self.detail_depth = len(path)
                self.part.details.append(self.detail)
            elif attributes:
                target, key = self._key()
                for name, value in zip(attributes[::2], attributes[1::2], strict=True):
                    target.fields.setdefault(f"{key}@{_local(name)}", value)
            return
        if local in MESSAGES and self.message is None:
            self.message = MESSAGES[local]
            self.message_type = _namespace_type(tag) or f"camt.{self.message[1]}"
            return
        if self.message is None:
            return
        parent = path[-2] if len(path) > 1 else None
        if local == self.message[0] and parent in MESSAGES:
            self.statements += 1
            self.header = {"line": self.line(), "where": f"{local}[{self.statements}]", "Bal": []}
            self.statement = None
            self.entries = 0
        elif self.header and parent == self.message[0]:
            if local in _CAPTURED:
                if local == "Ntry":
                    self._open()
                self.part = _Part(local, self.line())
                self.part_depth = len(path)
                self.starts = []
            elif local in _HEADER_LEAVES:
                self.text = []

    def _key(self) -> tuple[_Part, str]:
        """The part the current element belongs to and its path relative to that part."""
        if self.detail is not None:
            return self.detail, "/".join(self.path[self.detail_depth :])
        assert self.part is not None
        return self.part, "/".join(self.path[self.part_depth :])

    def data(self, text: str) -> None:
        if self.text is not None:
            self.text.append(text)

    def end(self, tag: str) -> None:
        path = self.path
        if self.part is not None:
            if len(path) == self.part_depth:
                part, self.part, self.detail = self.part, None, None
                path.pop()
                self.text = None
                self._captured(part)
                return
            line = self.starts.pop()
            if self.detail is not None and len(path) == self.detail_depth:
                self.detail = None
            elif self.text:
                text = "".join(self.text).strip()
                if text:
                    target, key = self._key()
                    fields = target.fields
                    if key not in fields:
                        fields[key] = text
                        target.lines[key] = line
                    elif key.endswith(_REPEATED):
                        fields[key] = f"{fields[key]} {text}"
            self.text = None
            path.pop()
            return
        local = path.pop()
        if self.text is not None:
            self.header[local] = "".join(self.text).strip()
            self.text = None
        elif self.message is not None and local == self.message[0] and self.header:
            self._open()
            assert self.statement is not None
            self.events.append(Closed(self.statement))
            self.header = {}
            self.statement = None

    # -- statements and entries ------------------------------------------------------------------------------
    def _captured(self, part: _Part) -> None:
        if part.name == "Ntry":
            assert self.statement is not None
            self.entries += 1
            self.events.append(self._entry(part, f"{self.header['where']}/Ntry[{self.entries}]"))
        elif part.name == "Bal":
            self.header["Bal"].append(part)
        else:
            self.header.setdefault(part.name, part)

    def _open(self) -> None:
        if self.statement is not None:
            return
        header, where = self.header, self.header["where"]
        account: _Part = header.get("Acct", _NO_PART)
        found: dict[str, _Part] = {}
        for balance in header["Bal"]:
            found.setdefault(balance.get("Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry") or "", balance)
        opening = next((_balance(found[k], k, f"{where}/Bal") for k in OPENING_KINDS if k in found), None)
        closing = next((_balance(found[k], k, f"{where}/Bal") for k in CLOSING_KINDS if k in found), None)
        number = f"{self.message[1] if self.message else ''}-{self.statements}"
        statement = Statement(
            id=header.get("Id") or header.get("ElctrncSeqNb") or number,
            account=account.get("Id/IBAN", "Id/Othr/Id") or "",
            currency=account.get("Ccy") or (opening.currency if opening else None),
            where=where,
            line=header["line"],
            opening=opening,
            closing=closing,
            info={"message_type": self.message_type or ""},
        )
        summary = header.get("TxsSummry")
        if summary is not None:
            _stated(statement, summary, f"{where}/TxsSummry")
        self.statement = statement
        self.events.append(Opened(statement))

    def _entry(self, part: _Part, where: str) -> Entry:
        assert self.statement is not None
        amount = _signed(part, where)
        indicator = part.get("CdtDbtInd")
        reversal = (part.get("RvslInd") or "").lower() in ("true", "1")
        status = part.get("Sts/Cd", "Sts/Prtry", "Sts")
        booking = _date(part, "BookgDt", where)
        value = _date(part, "ValDt", where)
        one = part.details[0] if len(part.details) == 1 else _NO_PART
        payer_side = (indicator == "CRDT") != reversal  # the counterparty paid us, or a payment came back
        party = "Dbtr" if payer_side else "Cdtr"
        refs = {key: one.get(f"Refs/{key}") for key in ("EndToEndId", "InstrId", "TxId", "MndtId")}
        creditor_ref = one.get("RmtInf/Strd/CdtrRefInf/Ref")
        reference = next(
            (
                v
                for v in (refs["EndToEndId"], creditor_ref, refs["InstrId"])
                if v and v.upper() not in _NOT_PROVIDED
            ),
            None,
        ) or part.get("NtryRef")
        domain = [
            part.get(p) for p in ("BkTxCd/Domn/Cd", "BkTxCd/Domn/Fmly/Cd", "BkTxCd/Domn/Fmly/SubFmlyCd")
        ]
        raw: dict[str, Any] = {
            "message_type": self.message_type,
            "entry_reference": part.get("NtryRef"),
            "account_servicer_reference": part.get("AcctSvcrRef") or one.get("Refs/AcctSvcrRef"),
            "status": status,
            "reversal": reversal,
            "bank_transaction_code": "/".join(d for d in domain if d) or None,
            "proprietary_code": part.get("BkTxCd/Prtry/Cd"),
            "end_to_end_id": refs["EndToEndId"],
            "instruction_id": refs["InstrId"],
            "tx_id": refs["TxId"],
            "mandate_id": refs["MndtId"],
            "creditor_reference": creditor_ref,
            "counterparty_account": one.get(
                f"RltdPties/{party}Acct/Id/IBAN", f"RltdPties/{party}Acct/Id/Othr/Id"
            ),
            "counterparty_bank": one.get(
                f"RltdAgts/{party}Agt/FinInstnId/BIC", f"RltdAgts/{party}Agt/FinInstnId/BICFI"
            ),
            "ultimate_debtor": one.get("RltdPties/UltmtDbtr/Nm", "RltdPties/UltmtDbtr/Pty/Nm"),
            "ultimate_creditor": one.get("RltdPties/UltmtCdtr/Nm", "RltdPties/UltmtCdtr/Pty/Nm"),
            "purpose_code": one.get("Purp/Cd"),
            "additional_info": part.get("AddtlNtryInf"),
            "transactions_count": str(len(part.details))
            if part.details
            else part.get("NtryDtls/Btch/NbOfTxs"),
        }
        return Entry(
            statement=self.statement,
            amount=amount,
            currency=part.get("Amt@Ccy") or self.statement.currency,
            booking_date=booking or value,
            value_date=value,
            reference=reference,
            counterparty=one.get(f"RltdPties/{party}/Nm", f"RltdPties/{party}/Pty/Nm"),
            description=one.get("RmtInf/Ustrd", "AddtlTxInf") or part.get("AddtlNtryInf"),
            raw=raw,
            line=part.line,
            where=where,
            booked=status is None or status.upper() in ("BOOK", "BOOKED"),
        )


def _signed(part: _Part, where: str, prefix: str = "") -> Decimal:
    text = part.get(f"{prefix}Amt")
    if text is None:
        raise fail("has no Amt", line=part.line, where=where)
    value = money(text, line=part.line_of(f"{prefix}Amt"), where=f"{where}/{prefix}Amt")
    indicator = part.get(f"{prefix}CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise fail(f"CdtDbtInd must be CRDT or DBIT (got {indicator!r})", line=part.line, where=where)
    return -value if indicator == "DBIT" else value


def _balance(part: _Part, kind: str, where: str) -> Balance:
    amount = _signed(part, where)
    return Balance(amount=amount, currency=part.get("Amt@Ccy"), date=_date(part, "Dt", where), kind=kind)


def _stated(statement: Statement, summary: _Part, where: str) -> None:
    """What TxsSummry says about the entries: their number and net total (checked by the collector)."""
    count = summary.get("TtlNtries/NbOfNtries")
    if count is not None:
        if not count.isdigit():
            raise fail(f"NbOfNtries {count!r} is not a number", line=summary.line, where=where)
        statement.stated_count = int(count)
    if summary.get("TtlNtries/TtlNetNtry/Amt") is not None:
        statement.stated_net = _signed(summary, where, "TtlNtries/TtlNetNtry/")
    elif summary.get("TtlNtries/TtlNetNtryAmt") is not None:  # version 02
        value = money(
            summary.fields["TtlNtries/TtlNetNtryAmt"],
            line=summary.line_of("TtlNtries/TtlNetNtryAmt"),
            where=f"{where}/TtlNtries/TtlNetNtryAmt",
        )
        statement.stated_net = -value if summary.get("TtlNtries/CdtDbtInd") == "DBIT" else value


def _date(part: _Part, name: str, where: str) -> dt.date | None:
    """<name><Dt> or <name><DtTm> (its date part) as a date."""
    path = f"{name}/Dt" if f"{name}/Dt" in part.fields else f"{name}/DtTm"
    text = part.get(path)
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise fail(f"{text!r} is not an ISO date", line=part.line_of(path), where=f"{where}/{name}") from None


def _reason(exc: Exception) -> str:
    code = getattr(exc, "code", None)
    if isinstance(exc, ExpatError) and isinstance(code, int) and code in expat_errors.messages:
        return f"{expat_errors.messages[code]} (column {getattr(exc, 'offset', 0) + 1})"
    return str(exc)


def camt_events(stream: BinaryIO, limits: StatementLimits, encoding: str = "auto") -> Iterator[Event]:
    """Events of a CAMT.052/053/054 document (see recon.ingest.statements.model). `encoding` is unused: the
    XML declaration says it."""
    reader = _Reader(limits)
    # defusedxml's parser refuses DTDs, entity declarations and external references on its expat object; our
    # handlers go straight onto that object (one Python call per XML event instead of two).
    expat = DefusedXMLParser(forbid_dtd=True).parser
    expat.StartElementHandler = reader.start
    expat.EndElementHandler = reader.end
    expat.CharacterDataHandler = reader.data
    reader.line = lambda: int(expat.CurrentLineNumber)
    try:
        while chunk := stream.read(CHUNK):
            expat.Parse(chunk, False)
            while reader.events:
                yield reader.events.popleft()
        expat.Parse(b"", True)
    except ExpatError as exc:
        raise fail(f"invalid XML: {_reason(exc)}", line=getattr(exc, "lineno", None)) from None
    except LookupError as exc:  # the XML declaration names an encoding Python does not know
        raise fail(f"the XML declares an unknown encoding ({exc})") from None
    except DefusedXmlException as exc:
        raise fail(f"refused: XML with a DTD, entity declarations or external references ({exc})") from None
    while reader.events:
        yield reader.events.popleft()
    if reader.message is None:
        raise fail(
            "not an ISO 20022 bank-to-customer message: no BkToCstmrStmt, BkToCstmrAcctRpt or "
            "BkToCstmrDbtCdtNtfctn element"
        )
