"""Helpers for engine tests: small typed Arrow tables and rules text."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa

from recon.engine import parse_rules


def side(ids, amounts=None, dates=None, **text_columns) -> pa.Table:
    """A side table: id (string), optional amount (decimal(38, 2)) and date, plus text columns."""
    columns = {"id": pa.array(ids, pa.string())}
    if amounts is not None:
        columns["amount"] = pa.array(
            [None if a is None else Decimal(a) for a in amounts], pa.decimal128(38, 2)
        )
    if dates is not None:
        columns["date"] = pa.array(
            [None if d is None else dt.date.fromisoformat(d) for d in dates], pa.date32()
        )
    for name, values in text_columns.items():
        columns[name] = pa.array(values, pa.string())
    return pa.table(columns)


# A many_to_one pass: a payer's ledger lines of one day paid by one bank line (tests of grouped passes).
BATCHES = """\
  - name: batches
    kind: many_to_one
    group_by: [payer, date]
    max_group_size: 3
    match:
      - {left: date, right: date, op: within_days, days: 2}
    sum: {left: amount, right: amount, abs: 0.01}
"""


def rules_for(passes: str, extra: str = "") -> object:
    text = f"version: 1\nname: test\nleft: {{id: id}}\nright: {{id: id}}\n{extra}passes:\n{passes}"
    return parse_rules(text, source="test.yaml")


def groups_of(result) -> list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    """(pass, status, left ids, right ids) per group, in group order."""
    rows = result.matches.to_pylist()
    found: dict[int, dict] = {}
    for row in rows:
        group = found.setdefault(
            row["group_id"], {"pass": row["pass"], "status": row["status"], "left": [], "right": []}
        )
        group[row["side"]].append(row["id"])
    return [(g["pass"], g["status"], tuple(g["left"]), tuple(g["right"])) for _, g in sorted(found.items())]


def reasons_of(table: pa.Table) -> dict[str, str]:
    return dict(zip(table.column("id").to_pylist(), table.column("reason").to_pylist(), strict=True))


def one_day(amounts, *, payer="A", day="2024-01-01", ids=None) -> pa.Table:
    """Ledger lines of one payer on one day (ids L1, L2, ... unless given): one group_by group of BATCHES."""
    ids = ids or [f"L{k + 1}" for k in range(len(amounts))]
    return side(ids, amounts, [day] * len(amounts), payer=[payer] * len(amounts))


def told_apart_day(amounts, *, digits: int = 1) -> pa.Table:
    """one_day() with a text that tells records of equal amounts apart (else they are duplicates); ids L1,
    L2, ... zero-padded to `digits` (L01, L02, ...: their text order is then the record order)."""
    ids = [f"L{str(k + 1).zfill(digits)}" for k in range(len(amounts))]
    return side(ids, amounts, ["2024-01-01"] * len(amounts), payer=["A"] * len(amounts), text=ids)


def bank_lines(amounts, *, day="2024-01-01", ids=None, **text_columns) -> pa.Table:
    """Bank lines of one day (ids R1, R2, ... unless given)."""
    ids = ids or [f"R{k + 1}" for k in range(len(amounts))]
    return side(ids, amounts, [day] * len(amounts), **text_columns)


def exact_pass(column: str = "ref", *, name: str = "exact", normalize: str = "[alnum, upper]") -> str:
    """A one_to_one pass on equal `column` values (normalised as given)."""
    return (
        f"  - name: {name}\n    kind: one_to_one\n    match:\n"
        f"      - {{left: {column}, right: {column}, op: equals, normalize: {normalize}}}\n"
    )


def near_pass(
    score_column: str,
    *,
    name: str = "near",
    amount_abs: str = "0.01",
    days: int | None = None,
    item_options: str = "",
    min_score: float | None = None,
) -> str:
    """A scored one_to_one pass: amounts within `amount_abs`, dates within `days` (when given), scored by
    jaro_winkler on `score_column` (`item_options` is appended to the score item, e.g. ", tf: false")."""
    lines = [
        f"  - name: {name}",
        "    kind: one_to_one",
        "    match:",
        f"      - {{left: amount, right: amount, op: tolerance, abs: {amount_abs}}}",
    ]
    if days is not None:
        lines.append(f"      - {{left: date, right: date, op: within_days, days: {days}}}")
    lines += [
        "    score:",
        f"      - {{left: {score_column}, right: {score_column}, method: jaro_winkler{item_options}}}",
    ]
    if min_score is not None:
        lines.append(f"    min_score: {min_score}")
    return "\n".join(lines) + "\n"


def name_memo_pass(*, name_weight: int, min_score: float, tf: bool = True) -> str:
    """A one_to_one pass on equal amounts scored by jaro_winkler on `name` (weight `name_weight`) and
    token_set on `memo` (weight 1): the score tests' rule set (lazy scores, weighted chunks)."""
    options = "" if tf else ", tf: false"
    return (
        "  - name: near\n    kind: one_to_one\n    match:\n"
        "      - {left: amount, right: amount, op: equals}\n    score:\n"
        f"      - {{left: name, right: name, method: jaro_winkler, weight: {name_weight}{options}}}\n"
        f"      - {{left: memo, right: memo, method: token_set, weight: 1{options}}}\n"
        f"    min_score: {min_score}\n"
    )


def details_of(table: pa.Table) -> dict[str, str]:
    return dict(zip(table.column("id").to_pylist(), table.column("detail").to_pylist(), strict=True))
