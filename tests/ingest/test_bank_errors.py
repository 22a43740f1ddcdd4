"""Malformed bank statements: an IngestError that names the line (text formats) or the element (XML) and the
reason; unbalanced statements name the statement and the difference. Nothing else escapes."""

from __future__ import annotations

import io
import re

import pytest

from recon.ingest import IngestError, ReadOptions, read_bytes
from recon.ingest.statements import read_statements
from recon.ingest.statements.model import StatementLimits

from .bank_helpers import BANKS

MT940_OK = (
    ":20:REF\n:25:DE123\n:28C:1/1\n:60F:C240101EUR100,00\n"
    ":61:240102D25,00NTRFNONREF\n:86:text\n:61:240102C5,NTRFNONREF\n:62F:C240102EUR80,00\n-\n"
)


def _error(data: bytes, filename: str = "upload") -> str:
    with pytest.raises(IngestError) as caught:
        read_bytes(data, filename=filename)
    return str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MT940_OK.replace("D25,00", "D25;00"), r"line 5: :61: the amount '25' is followed by ';'"),
        (MT940_OK.replace("D25,00", "D2,5,0"), r"line 5: :61: amount '2,5,0' is not a valid amount"),
        (MT940_OK.replace(":60F:C240101EUR100,00", ":60F:C241301EUR100,00"), r"line 4: :60F: date '241301'"),
        (
            MT940_OK.replace(":60F:C240101", ":60F:X240101"),
            r"line 4: :60F: 'X240101EUR100,00' is not a balance",
        ),
        (MT940_OK.replace("240102D25", "24010D25"), r"line 5: :61: must start with the value date"),
        (MT940_OK.replace("240102D25", "240102X25"), r"line 5: :61: expected the mark C, D, RC or RD"),
        (
            MT940_OK.replace(":62F:C240102EUR80,00\n", ""),
            r"statement 'REF/1/1' .* ends without a closing balance",
        ),
        (
            MT940_OK.replace("EUR80,00", "EUR81,00"),
            r"line 1: statement 'REF/1/1' \(account DE123\) does not balance: opening balance 100.00 "
            r"\+ entries -20.00 = 80.00, but the closing balance is 81.00 \(difference 1.00\)",
        ),
        (
            MT940_OK
            + MT940_OK.replace("C240101EUR100,00", "C240102EUR90,00").replace("EUR80,00", "EUR70,00"),
            r"line 10: statement 'REF/1/1#2' .* opens with 90.00, but the previous statement 'REF/1/1' "
            r"of the account closed with 80.00 \(difference 10.00\)",
        ),
        (":20:REF\n:25:X\n:61:240102D25,00NTRF\n", r"line 3: :61: comes before the opening balance"),
        (
            MT940_OK.replace(":62F:C240102EUR80,00", ":62F:C240102USD80,00"),
            r"the 62F balance is in USD, the statement in EUR",
        ),
    ],
)
def test_mt940_errors(text: str, expected: str) -> None:
    assert re.search(expected, _error(text.encode(), "s.sta")), _error(text.encode(), "s.sta")


CAMT_OK = (BANKS / "camt053_v02.xml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            CAMT_OK.replace('<Amt Ccy="EUR">250.00', '<Amt Ccy="EUR">2 50.00'),
            r"line 44: Stmt\[1\]/Ntry\[1\]/Amt: amount '2 50.00' is not a valid amount",
        ),
        (
            CAMT_OK.replace(
                "<CdtDbtInd>DBIT</CdtDbtInd>\n        <Sts>", "<CdtDbtInd>DEBIT</CdtDbtInd>\n        <Sts>", 1
            ),
            r"Stmt\[1\]/Ntry\[2\]: CdtDbtInd must be CRDT or DBIT \(got 'DEBIT'\)",
        ),
        (
            CAMT_OK.replace("<Dt>2024-04-02</Dt></BookgDt>", "<Dt>2024-02-30</Dt></BookgDt>", 1),
            r"Stmt\[1\]/Ntry\[3\]/BookgDt: '2024-02-30' is not an ISO date",
        ),
        (
            CAMT_OK.replace("<NbOfNtries>3<", "<NbOfNtries>4<"),
            r"line 8: Stmt\[1\]: statement 'STMT-EUR-0402' .* states 4 entries but has 3",
        ),
        (
            CAMT_OK.replace('<Amt Ccy="CHF">10.05', '<Amt Ccy="CHF">10.06'),
            r"Stmt\[2\]: statement 'STMT-CHF-0402' .* \(difference -0.01\)",
        ),
        (CAMT_OK.replace("</Ntry>", "</Ntri>", 1), r"line \d+: invalid XML: mismatched tag"),
        (CAMT_OK[: len(CAMT_OK) // 2], r"invalid XML: no element found|not complete"),
        (CAMT_OK.replace("BkToCstmrStmt", "BkToCstmrXyz"), r"not an ISO 20022 bank-to-customer message"),
    ],
)
def test_camt_errors(text: str, expected: str) -> None:
    message = _error(text.encode(), "s.xml")
    assert re.search(expected, message), message


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Id>&lol3;</Id>
</Stmt></BkToCstmrStmt></Document>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Id>&xxe;</Id>
</Stmt></BkToCstmrStmt></Document>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL], ids=["entity-expansion", "external-entity"])
def test_camt_refuses_dtds_and_entities(data: bytes) -> None:
    message = _error(data, "s.xml")
    assert "refused" in message and "DTD" in message
    assert "root:" not in message  # nothing was read from /etc/passwd


BAI2_OK = (BANKS / "bai2_multi.bai").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            BAI2_OK.replace("49,2125050,8/", "49,2125051,8/"),
            r"line 10: account 42/0001234567/2023-01-05: the control total is 2125051 but the amounts sum to "
            r"2125050 \(difference 1, in minor units\)",
        ),
        (
            BAI2_OK.replace("49,224690,4/", "49,224690,3/"),
            r"line 14: account .*: the trailer counts 3 records, there are 4",
        ),
        (
            BAI2_OK.replace("98,2349740,2,14/", "98,2349740,3,14/"),
            r"line 15: the group trailer says 3 accounts, the group has 2",
        ),
        (
            BAI2_OK.replace("99,2299640,2,20/", "99,2299641,2,20/"),
            r"line 20: file 42: the control total is 2299641",
        ),
        (
            BAI2_OK.replace("16,475,250000", "16,475,2500.00"),
            r"line 6: amount '2500.00' is not a whole number",
        ),
        (BAI2_OK.replace("16,475,", "16,045,"), r"line 6: type code '045' is not a transaction detail code"),
        (BAI2_OK.replace("99,2299640,2,20/\n", ""), r"the file ends without a file trailer \(99\)"),
        (BAI2_OK.replace("16,699,25050,Z", "17,699,25050,Z"), r"line 9: unknown record type '17'"),
        (
            BAI2_OK.replace("010,+500000", "010,+500001")
            .replace("49,2125050", "49,2125051")
            .replace("98,2349740", "98,2349741")
            .replace("99,2299640", "99,2299641"),
            r"line 3: statement '42/0001234567/2023-01-05' \(account 0001234567\) does not balance: opening "
            r"balance 5000.01 \+ entries -5250.50 = -250.49, but the closing balance is -250.50 "
            r"\(difference -0.01\)",
        ),
        (BAI2_OK.replace("16,475,250000,0", "16,475,250000,Q"), r"line 6: funds type 'Q' is not one of"),
        (
            BAI2_OK.replace(",230105,2359,", ",230132,2359,"),
            r"line 2: as-of date '230132' is not a calendar date",
        ),
    ],
)
def test_bai2_errors(text: str, expected: str) -> None:
    message = _error(text.encode(), "s.bai")
    assert re.search(expected, message), message


OFX_OK = (BANKS / "ofx_sgml_bank.ofx").read_bytes()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            OFX_OK.replace(b"<TRNAMT>-45.67", b"<TRNAMT>-45.6.7"),
            r"line 42: <STMTTRN/TRNAMT> '-45.6.7' is not a valid amount",
        ),
        (OFX_OK.replace(b"<TRNAMT>-45.67", b"<TRNAMT>1e5"), r"<STMTTRN/TRNAMT> '1e5' is not a valid amount"),
        (OFX_OK.replace(b"<DTPOSTED>20240103\r\n", b""), r"line 39: <STMTTRN> has no <DTPOSTED>"),
        (
            OFX_OK.replace(b"<DTPOSTED>20240103", b"<DTPOSTED>2024-1-3"),
            r"<DTPOSTED> '2024-1-3' is not an OFX date",
        ),
        (
            OFX_OK.replace(b"</BANKTRANLIST>", b"</BANKTRANLISTX>", 1),
            r"</BANKTRANLISTX> closes an element that is not open",
        ),
        (OFX_OK[: len(OFX_OK) // 2], r"the file ends before </\w+>: it is incomplete"),
        (
            OFX_OK.replace(b"<OFX>", b"<!DOCTYPE x [<!ENTITY a 'b'>]><OFX>"),
            r"refused: an OFX file must not contain a DTD",
        ),
        (
            b"OFXHEADER:100\r\n\r\n<OFX><SIGNONMSGSRSV1></SIGNONMSGSRSV1></OFX>",
            r"holds no bank or credit-card statement",
        ),
    ],
)
def test_ofx_errors(data: bytes, expected: str) -> None:
    message = _error(data, "s.ofx")
    assert re.search(expected, message), message


def test_limits_come_from_the_options_object() -> None:
    class Options:  # what the hostile-input limits will add to ReadOptions
        encoding = "auto"
        max_line_bytes = 40
        max_rows = 1

    from recon.ingest.statements.model import limits_from

    limits = limits_from(Options())
    assert limits == StatementLimits(max_line_bytes=40, max_entries=1)
    with pytest.raises(IngestError, match="more than 1 entries"):
        read_statements(io.BytesIO(MT940_OK.encode()), "mt940", limits=limits)
    with pytest.raises(IngestError, match=r"line \d+: the line is longer than 40 bytes"):
        read_statements(
            io.BytesIO(MT940_OK.replace(":86:text", ":86:" + "x" * 60).encode()), "mt940", limits=limits
        )
    deep = b"<Document>" + b"<a>" * 100 + b"</a>" * 100 + b"</Document>"
    with pytest.raises(IngestError, match="nested deeper than 64"):
        read_statements(io.BytesIO(deep.replace(b"<Document>", b"<Document><BkToCstmrStmt>")), "camt053")
    # ReadOptions carries the process's ingest limits (INGEST_MAX_*), which the statement parsers follow.
    default = ReadOptions().limits
    assert limits_from(ReadOptions()) == StatementLimits(
        max_line_bytes=default.max_row_bytes,
        max_entries=default.max_rows,
        max_depth=default.max_depth,
        max_field_chars=default.max_cell_bytes,
    )


def test_unknown_content_is_not_a_statement() -> None:
    # Without a bank statement's shape the registry falls back to the general formats, as before.
    assert read_bytes(b"a,b\n1,2\n", filename="x.sta").format == "csv"
