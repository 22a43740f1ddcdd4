"""Fuzzing the bank statement parsers: mutated golden files and token soup give a table or an IngestError
(the documented parse error), never another exception."""

from __future__ import annotations

import io
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon.ingest import IngestError, read_bytes
from recon.ingest.statements import read_statements

from .bank_helpers import BANKS

FILES = {
    "mt940": [
        (BANKS / n).read_bytes() for n in ("mt940_swift_blocks.sta", "mt940_plain_multi.sta", "mt950.sta")
    ],
    "camt": [
        (BANKS / n).read_bytes()
        for n in (
            "camt053_v02.xml",
            "camt053_v08_envelope.xml",
            "camt052_intraday.xml",
            "camt054_notification.xml",
        )
    ],
    "bai2": [(BANKS / n).read_bytes() for n in ("bai2_multi.bai", "bai2_jpy_4digit.bai")],
    "ofx": [(BANKS / n).read_bytes() for n in ("ofx_sgml_bank.ofx", "ofx_xml_creditcard.qfx")],
}
TOKENS = {
    "mt940": [
        b":20:",
        b":25:",
        b":28C:",
        b":60F:",
        b":61:",
        b":86:",
        b":62F:",
        b"C",
        b"D",
        b"RC",
        b"240101",
        b"0101",
        b"EUR",
        b"1,5",
        b",",
        b"NTRF",
        b"//",
        b"?20",
        b"-}",
        b"{4:",
        b"\r\n",
        b"\n",
        b"\xff",
    ],
    "camt": [
        b"<Stmt>",
        b"</Stmt>",
        b"<Ntry>",
        b"</Ntry>",
        b"<Amt Ccy='EUR'>",
        b"</Amt>",
        b"1.5",
        b"<Bal>",
        b"</Bal>",
        b"<CdtDbtInd>CRDT</CdtDbtInd>",
        b"DBIT",
        b"&amp;",
        b"&x;",
        b"<!DOCTYPE a>",
        b"\n",
    ],
    "bai2": [
        b"01,",
        b"02,",
        b"03,",
        b"16,",
        b"88,",
        b"49,",
        b"98,",
        b"99,",
        b"010",
        b"015",
        b"475",
        b"115",
        b",",
        b"/",
        b"-",
        b"100",
        b"S",
        b"D",
        b"V",
        b"230101",
        b"\n",
        b"\r\n",
    ],
    "ofx": [
        b"<OFX>",
        b"</OFX>",
        b"<STMTRS>",
        b"</STMTRS>",
        b"<STMTTRN>",
        b"</STMTTRN>",
        b"<TRNAMT>",
        b"-1.5",
        b"<DTPOSTED>",
        b"20240101",
        b"<CCSTMTRS>",
        b"&amp;",
        b"<",
        b">",
        b"\n",
        b"\xe9",
    ],
}
HEADS = {
    "mt940": b":20:X\n",
    "camt": b"<Document><BkToCstmrStmt>",
    "bai2": b"01,A,B,240101,0000,1,,,2/\n",
    "ofx": b"OFXHEADER:100\n<OFX>",
}


def _check(data: bytes) -> None:
    try:
        result = read_bytes(data, filename="fuzz")
    except IngestError as exc:
        assert str(exc)
        return
    if result.statements:  # a statement file that parsed: its summaries agree with its rows
        total = sum(result.table["amount"].to_pylist(), start=Decimal(0))
        assert total == sum((s.amount_sum for s in result.statements), start=Decimal(0))
        assert result.table.num_rows == sum(s.entries for s in result.statements)


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> bytes:
    data = bytearray(draw(st.sampled_from(FILES[kind])))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        operation = draw(st.sampled_from(["insert", "delete", "replace", "truncate"]))
        if operation == "insert":
            data[at:at] = draw(st.sampled_from(TOKENS[kind]) | st.binary(max_size=3))
        elif operation == "delete":
            del data[at : at + draw(st.integers(1, 20))]
        elif operation == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        else:
            del data[at:]
    return bytes(data)


def soup(kind: str) -> st.SearchStrategy[bytes]:
    return st.lists(st.sampled_from(TOKENS[kind]), max_size=60).map(
        lambda parts: HEADS[kind] + b"".join(parts)
    )


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(mutated("mt940") | soup("mt940"))
def test_mt940_never_crashes(data: bytes) -> None:
    _check(data)


@FUZZ
@given(mutated("camt") | soup("camt"))
def test_camt_never_crashes(data: bytes) -> None:
    _check(data)


@FUZZ
@given(mutated("bai2") | soup("bai2"))
def test_bai2_never_crashes(data: bytes) -> None:
    _check(data)


@FUZZ
@given(mutated("ofx") | soup("ofx"))
def test_ofx_never_crashes(data: bytes) -> None:
    _check(data)


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["mt940", "mt950", "camt053", "camt052", "camt054", "bai2", "ofx"]),
    st.binary(max_size=300),
)
def test_any_bytes_under_any_statement_format(fmt: str, data: bytes) -> None:
    try:
        read_statements(io.BytesIO(data), fmt)
    except IngestError as exc:
        assert str(exc)
