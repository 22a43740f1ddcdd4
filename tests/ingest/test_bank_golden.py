"""Golden bank statements: each tests/data/banks/<case>.<ext> was written by hand from the published format
(SWIFT MT940/MT950 user handbook, ISO 20022 camt.052/053/054 .02 and .08, BAI2, OFX 1.6 SGML / 2.2 XML) with
its corners, and <case>.expected.json holds what must come out: the inspect document, every row's canonical
columns and every non-empty raw field."""

from __future__ import annotations

import hashlib
import io
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from recon.cli.inspect_cmd import summary_json
from recon.ingest import IngestError, read_bytes, read_file
from recon.ingest.statements import detect_format, read_statements
from recon.ingest.statements.table import CANONICAL_COLUMNS

from .bank_helpers import expected_path, inputs, plain

CASES = inputs()


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.name)
def test_golden(path: Path) -> None:
    case = json.loads(expected_path(path).read_text(encoding="utf-8"))

    result = read_file(path)

    assert result.format == case["format"]
    assert result.table.column_names[: len(CANONICAL_COLUMNS)] == case["columns"]
    types = {f.name: f.type for f in result.table.schema}
    assert types["date"] == pa.date32() and types["value_date"] == pa.date32()
    assert pa.types.is_decimal(types["amount"])
    rows = result.table.to_pylist()
    assert [[plain(row[c]) for c in CANONICAL_COLUMNS] for row in rows] == case["rows"]
    raw = [{k: v for k, v in row.items() if k not in CANONICAL_COLUMNS and v is not None} for row in rows]
    assert raw == case["raw"]
    assert result.rejected.num_rows == 0 and result.errors == []
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert len(result.statements) == len(case["inspect"]["statements"])


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.name)
def test_streamed_summary_matches_the_table(path: Path) -> None:
    case = json.loads(expected_path(path).read_text(encoding="utf-8"))
    data = path.read_bytes()
    fmt = detect_format(data[:8192])
    assert fmt == case["format"]
    with path.open("rb") as stream:
        streamed = read_statements(stream, fmt, preview=2)
    assert summary_json(streamed.format, streamed.summaries, streamed.transactions) == case["inspect"]
    assert len(streamed.preview) == min(2, len(case["rows"]))
    # The amount sum is the sum of every row; transactions count every entry of every statement.
    table = read_bytes(data, filename="x").table
    assert case["inspect"]["transactions"] == table.num_rows
    assert case["inspect"]["amount_sum"] == format(sum(table["amount"].to_pylist(), start=Decimal(0)), "f")


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.name)
def test_the_name_does_not_decide(path: Path) -> None:
    data = path.read_bytes()
    expected = json.loads(expected_path(path).read_text(encoding="utf-8"))["format"]
    for misleading in ("statement.csv", "export.json", "bank.txt", "noname"):
        assert read_bytes(data, filename=misleading).format == expected


def test_every_input_has_a_golden_case() -> None:
    assert CASES and all(expected_path(p).is_file() for p in CASES)
    expected = {p.name for p in CASES[0].parent.glob("*.expected.json")}
    assert expected == {expected_path(p).name for p in CASES}


def test_rows_are_typed_for_the_engine_hints() -> None:
    # `recon match` passes the rule set's hints: typing an already typed column changes nothing.
    path = CASES[0]
    plain_read = read_file(path)
    hinted = read_file(path, types={"amount": "decimal", "date": "date", "id": "string"}, id_column="id")
    assert hinted.table.equals(plain_read.table)
    assert len(set(hinted.table["id"].to_pylist())) == hinted.table.num_rows


def test_identical_statement_ids_get_distinct_ids() -> None:
    text = (
        ":20:SAME\n:25:ACC\n:60F:C240101EUR0,\n:61:240101C1,NTRFX\n:62F:C240101EUR1,\n-\n"
        ":20:SAME\n:25:ACC\n:60F:C240102EUR1,\n:61:240102C1,NTRFX\n:62F:C240102EUR2,\n-\n"
    )
    result = read_statements(io.BytesIO(text.encode()), "mt940")
    assert [s.id for s in result.summaries] == ["SAME", "SAME#2"]
    ids = read_bytes(text.encode(), filename="s.sta").table["id"].to_pylist()
    assert ids == ["SAME/1", "SAME#2/1"]


def test_explicit_statement_format_names() -> None:
    from recon.ingest import registry

    assert registry.get("QFX").name == "ofx" and registry.get("camt").name == "camt053"
    data = (CASES[0].parent / "camt054_notification.xml").read_bytes()
    assert read_bytes(data, filename="n.xml", format="camt053").table.num_rows == 1  # any camt message
    with pytest.raises(IngestError, match=r"line 1: a BAI2 file starts with a 01 file header record"):
        read_bytes(data, filename="n.xml", format="bai2")
