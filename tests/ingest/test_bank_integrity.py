"""Statement integrity checks the error tests did not reach: continuity between consecutive statements of an
account in an XML (camt.053) file, continuity taking the statements' dates into account, and the BAI2 group
control total (the account and file totals are in test_bank_errors)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from recon.ingest import IngestError, read_bytes

from .bank_helpers import BANKS


def _stmt(number: int, opening: str, closing: str, entry: str, *, opened: str, closed: str) -> str:
    sign = "DBIT" if entry.startswith("-") else "CRDT"
    return f"""
    <Stmt>
      <Id>STMT-{number}</Id>
      <CreDtTm>{closed}T18:00:00</CreDtTm>
      <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
      <Bal>
        <Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">{opening}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{opened}</Dt></Dt>
      </Bal>
      <Bal>
        <Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">{closing}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{closed}</Dt></Dt>
      </Bal>
      <Ntry>
        <Amt Ccy="EUR">{entry.lstrip("-")}</Amt><CdtDbtInd>{sign}</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>{closed}</Dt></BookgDt><ValDt><Dt>{closed}</Dt></ValDt>
        <AcctSvcrRef>ASR-{number}</AcctSvcrRef>
      </Ntry>
    </Stmt>"""


def _camt(*statements: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">\n'
        "  <BkToCstmrStmt>\n"
        "    <GrpHdr><MsgId>M-1</MsgId><CreDtTm>2024-04-03T18:00:00</CreDtTm></GrpHdr>"
        + "".join(statements)
        + "\n  </BkToCstmrStmt>\n</Document>\n"
    ).encode()


def _error(data: bytes, name: str) -> str:
    with pytest.raises(IngestError) as caught:
        read_bytes(data, filename=name)
    return str(caught.value)


def test_camt_consecutive_statements_that_continue_are_read() -> None:
    data = _camt(
        _stmt(1, "100.00", "90.00", "-10.00", opened="2024-04-01", closed="2024-04-01"),
        _stmt(2, "90.00", "115.50", "25.50", opened="2024-04-02", closed="2024-04-02"),
    )
    result = read_bytes(data, filename="s.xml")
    assert [s.id for s in result.statements] == ["STMT-1", "STMT-2"]
    assert result.table["amount"].to_pylist() == [Decimal("-10.00"), Decimal("25.50")]


def test_camt_statement_that_does_not_continue_the_previous_one_names_both() -> None:
    data = _camt(
        _stmt(1, "100.00", "90.00", "-10.00", opened="2024-04-01", closed="2024-04-01"),
        _stmt(2, "95.00", "120.50", "25.50", opened="2024-04-02", closed="2024-04-02"),
    )
    message = _error(data, "s.xml")
    assert re.search(
        r"Stmt\[2\]: statement 'STMT-2' .*opens with 95.00, but the previous statement 'STMT-1' of the "
        r"account closed with 90.00 \(difference 5.00\)",
        message,
    ), message


def test_camt_statements_out_of_date_order_are_not_held_to_continuity() -> None:
    """A file listing a later statement first: the earlier one's opening is not compared with the later
    one's closing (only a statement that opens on or after the previous closing date is)."""
    data = _camt(
        _stmt(2, "90.00", "115.50", "25.50", opened="2024-04-02", closed="2024-04-02"),
        _stmt(1, "100.00", "90.00", "-10.00", opened="2024-04-01", closed="2024-04-01"),
    )
    assert read_bytes(data, filename="s.xml").table.num_rows == 2


def test_bai2_group_control_total_names_the_line_and_the_difference() -> None:
    text = (BANKS / "bai2_multi.bai").read_text(encoding="utf-8")
    assert "98,2349740,2,14/" in text
    message = _error(text.replace("98,2349740,2,14/", "98,2349741,2,14/").encode(), "s.bai")
    assert re.search(
        r"line 15: group .*: the control total is 2349741 but the amounts sum to 2349740 "
        r"\(difference 1, in minor units\)",
        message,
    ), message
