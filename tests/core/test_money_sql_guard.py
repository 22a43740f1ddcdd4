"""Money columns are never summed, abs()-ed or averaged with plain SQL functions: on SQLite they hold
sortable text (docs/adr/0006-exact-money-on-sqlite.md) that those functions would read as 0. Use money_sum."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "recon"
PLAIN = re.compile(r"func\.(sum|avg|total|abs)\((?P<arg>[^)]*)\)")
MONEY = re.compile(r"amount|_total|difference|writeoff")


def test_no_plain_sql_aggregate_over_money() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for found in PLAIN.finditer(line):
                if MONEY.search(found.group("arg")):
                    offenders.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_guard_sees_an_offender() -> None:
    assert PLAIN.search("func.sum(RunItem.amount)") and MONEY.search("RunItem.amount")
