"""The dated pass the instant tests score: amount within a cent, a date window of 5 days, the counterparty
scored exactly (a score instant reconciliation runs itself)."""

from __future__ import annotations

PASS = """\
  - name: near
    kind: one_to_one
    match:
      - {{left: currency, right: currency, op: equals}}
      - {{left: amount, right: amount, op: tolerance, abs: 0.01}}
      - {{left: date, right: date, op: within_days, days: 5}}
    score:
      - {{left: counterparty, right: counterparty, method: exact}}
{extra}"""
HEAD = "version: 1\nname: dates\nleft: {id: id}\nright: {id: id}\npasses:\n"
WINDOW_DAYS = 5


def dated_pass(date_evidence: bool = True) -> str:
    return PASS.format(extra="" if date_evidence else "    date_evidence: false\n")


def dated_rules_text(date_evidence: bool = True) -> str:
    return HEAD + dated_pass(date_evidence)
