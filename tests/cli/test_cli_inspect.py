"""`recon inspect FILE [--json]`: the detected format, statements, balances and a preview; exit 2 with the
line or element and the reason for a file that is not a valid statement. And `recon match` on statements."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from recon.cli.main import app

BANKS = Path(__file__).resolve().parents[1] / "data" / "banks"
STATEMENTS = sorted(p for p in BANKS.iterdir() if not p.name.endswith(".expected.json"))
runner = CliRunner()


def _expected(path: Path) -> dict:
    return json.loads(path.with_name(path.name.rsplit(".", 1)[0] + ".expected.json").read_text("utf-8"))


@pytest.mark.parametrize("path", STATEMENTS, ids=lambda p: p.name)
def test_json_is_exactly_the_contract(path: Path) -> None:
    result = runner.invoke(app, ["inspect", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert list(document) == ["format", "statements", "transactions", "amount_sum"]
    for statement in document["statements"]:
        assert list(statement) == [
            "id",
            "account",
            "currency",
            "opening_balance",
            "closing_balance",
            "entries",
        ]
    assert document == _expected(path)["inspect"]


def test_json_values_for_a_multi_statement_file() -> None:
    result = runner.invoke(app, ["inspect", str(BANKS / "mt940_swift_blocks.sta"), "--json"])
    assert json.loads(result.stdout) == {
        "format": "mt940",
        "statements": [
            {
                "id": "STARTUMS/00252/001",
                "account": "37040044/0532013000",
                "currency": "EUR",
                "opening_balance": "12500.00",
                "closing_balance": "14075.75",
                "entries": 4,
            },
            {
                "id": "STARTUMS/00253/001",
                "account": "37040044/0532013000",
                "currency": "EUR",
                "opening_balance": "14075.75",
                "closing_balance": "-100.00",
                "entries": 2,
            },
        ],
        "transactions": 6,
        "amount_sum": "-12600.00",
    }


def test_human_output_names_format_statements_and_preview() -> None:
    result = runner.invoke(
        app, ["inspect", str(BANKS / "camt053_v02.xml"), "--preview", "2"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "camt053" in out and "STMT-EUR-0402" in out and "STMT-CHF-0402" in out
    assert "1500.00" in out and "-10.05" in out and "4 transaction(s)" in out
    assert "first 2 transaction(s)" in out and "Alpha GmbH" in out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"id,amount\n1,2\n", r"line 1: not a bank statement of a known format"),
        (b"", r"the file is empty"),
        (
            b":20:R\n:25:A\n:60F:C240101EUR1,00\n:61:240101C1,0x0NTRF\n:62F:C240101EUR2,00\n-\n",
            r"line 4: :61: amount '1,0' .*|line 4: :61: the amount '1,0' is followed by 'x'",
        ),
        (
            b":20:R\n:25:A\n:60F:C240101EUR1,00\n:61:240101C1,00NTRF\n:62F:C240101EUR3,00\n-\n",
            r"line 1: statement 'R' \(account A\) does not balance: .* \(difference 1.00\)",
        ),
        (
            (BANKS / "camt053_v02.xml")
            .read_bytes()
            .replace(b"<CdtDbtInd>CRDT</CdtDbtInd>\n        <Sts>", b"<Sts>", 1),
            r"line \d+: Stmt\[1\]/Ntry\[1\]: CdtDbtInd must be CRDT or DBIT \(got None\)",
        ),
    ],
)
def test_not_a_valid_statement_exits_2_with_line_and_reason(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "statement.sta"
    path.write_bytes(content)
    for args in (["inspect", str(path)], ["inspect", str(path), "--json"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.stdout
        assert result.stdout == ""
        import re

        assert re.search(expected, " ".join(result.stderr.split())), result.stderr


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["inspect", str(tmp_path / "nope.sta"), "--json"])
    assert result.exit_code == 2
    assert "file not found" in result.stderr


def test_the_installed_command(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "recon.cli", "inspect", str(BANKS / "bai2_multi.bai"), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["transactions"] == 6
    bad = tmp_path / "x.bai"
    bad.write_bytes((BANKS / "bai2_multi.bai").read_bytes().replace(b"49,224690,4/", b"49,224691,4/"))
    done = subprocess.run(
        [sys.executable, "-m", "recon.cli", "inspect", str(bad), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "line 14: account 42/9876543210/2023-01-05: the control total is 224691" in done.stderr


LEDGER = """id,date,amount,currency,reference,counterparty
GL-1,2023-12-29,-1500.00,EUR,INV-2023-0815,Papier Mueller
GL-2,2023-12-30,3200.50,EUR,INV-2023-0901,Kunde AG
GL-3,2024-01-03,-100.00,EUR,FEE-JAN,Bank
GL-4,2024-01-05,999.99,EUR,NOT-IN-BANK,Nobody
"""
RULES = """\
version: 1
name: ledger-vs-mt940
left: {id: id}
right: {id: id}
passes:
  - name: reference
    kind: one_to_one
    match:
      - {left: reference, right: reference, op: equals}
      - {left: amount, right: amount, op: equals}
  - name: amount-and-date
    kind: one_to_one
    match:
      - {left: amount, right: amount, op: equals}
      - {left: date, right: date, op: within_days, days: 2}
"""


def test_match_takes_a_statement_as_input(tmp_path: Path) -> None:
    ledger, rules = tmp_path / "ledger.csv", tmp_path / "rules.yaml"
    ledger.write_text(LEDGER, encoding="utf-8")
    rules.write_text(RULES, encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "match",
            str(ledger),
            str(BANKS / "mt940_swift_blocks.sta"),
            "--rules",
            str(rules),
            "--out",
            str(out),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["right"]["rows"] == 6
    assert summary["left"]["matched"] == 3
    matches = pq.read_table(out / "matches.parquet").to_pylist()
    pairs = {(m["group_id"], m["side"], m["id"]) for m in matches}
    right_ids = {i for _g, side, i in pairs if side == "right"}
    assert right_ids == {"STARTUMS/00252/001/1", "STARTUMS/00252/001/2", "STARTUMS/00253/001/2"}
