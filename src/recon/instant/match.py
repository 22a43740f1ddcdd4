"""Matching pushed transactions against a book's open items, pass by pass (the rule set's waterfall).

Per pass: every undecided transaction looks its blocking keys up (indexed: the primary key of
open_item_keys), the conditions are checked in Python and scored like the engine without score items
(closeness of tolerances and date windows). A pair is taken when each is the other's best candidate with no
rival within the pass's margin; a pair with such a rival, or in a `suggest` pass, or below `suggest_below`,
is a suggestion (nothing closes). Transactions not taken are offered to the next pass.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy.orm import Session

from recon.core.money import from_sortable_text
from recon.engine.date_levels import count_levels, decision_score, level_penalties, level_weights
from recon.instant.plan import InstantPass, InstantPlan

ITEM_FIELDS = ("row_no", "ext_id", "date", "value_date", "amount", "currency", "reference", "counterparty",
               "description")  # fmt: skip


# A transaction's candidate: (decision score, open item, score). The decision score is what the assignment
# and the margin rule compare: the score, less the date penalty in a pass with date evidence (ADR 0020).
Candidate = tuple[float, dict[str, Any], float]


@dataclass
class Pairing:
    txn: int  # index of the transaction in the request
    item: dict[str, Any]
    pass_name: str
    score: float
    differences: dict[str, str] = field(default_factory=dict)
    rival: dict[str, Any] | None = None

    @property
    def status(self) -> Literal["matched", "break"]:
        return "break" if self.differences else "matched"


@dataclass
class Outcome:
    matches: list[Pairing] = field(default_factory=list)
    suggestions: list[Pairing] = field(default_factory=list)
    ambiguous: set[int] = field(default_factory=set)


def reconcile(
    session: Session, book_id: str, plan: InstantPlan, txns: Sequence[Mapping[str, Any]]
) -> Outcome:
    outcome = Outcome()
    open_txns = set(range(len(txns)))
    taken: set[int] = set()  # row numbers of items matched or suggested in this request
    for step in plan.passes:
        if not open_txns:
            break
        keys_of, holds, min_score = step.keys, step.holds, step.spec.min_score
        probes = [(t, keys_of(txns[t], "txn", probe=True)) for t in sorted(open_txns)]
        candidates = _lookup(session, book_id, step.number, {k for _, keys in probes for k in keys})
        same_keys: dict[str, bool] = {}
        edges: dict[int, list[Candidate]] = {}
        by_item: dict[int, list[tuple[float, int]]] = defaultdict(list)
        for t, keys in probes:
            txn = txns[t]
            seen: set[int] = set()
            found: list[Candidate] = []
            for key in keys:
                items = candidates.get(key)
                if not items:
                    continue
                same_key = same_keys.get(key)
                if same_key is None:
                    same_key = same_keys[key] = step.unambiguous(key)
                for item in items:
                    row = item["row_no"]
                    if row in seen or row in taken:
                        continue
                    seen.add(row)
                    score = holds(item, txn, same_key=same_key)
                    if score is not None and (min_score is None or score >= min_score):
                        found.append((score, item, score))
                        by_item[row].append((score, t))
            if found:
                edges[t] = found
        if step.date_window is not None and edges:
            edges = _weigh_dates(step, txns, edges)
            by_item = defaultdict(list)  # again, with the decision scores
            for t, found in edges.items():
                for decision, item, _ in found:
                    by_item[item["row_no"]].append((decision, t))
        for t, found in edges.items():
            _decide(
                step, t, found, by_item=by_item, txns=txns, taken=taken, open_txns=open_txns, outcome=outcome
            )
    return outcome


def _weigh_dates(
    step: InstantPass, txns: Sequence[Mapping[str, Any]], edges: dict[int, list[Candidate]]
) -> dict[int, list[Candidate]]:
    """The decision scores of a scored pass with a date window: the engine's date evidence (ADR 0020,
    recon.engine.date_levels) estimated from this request's candidates of the pass, as a run estimates it
    from the run's; unchanged when there are too few candidates to estimate."""
    assert step.date_window is not None
    left_column, right_column, days = step.date_window
    items_left = step.item_side == "left"
    lefts: list[int] = []
    rights: list[int] = []
    diffs: list[int] = []
    for t, found in edges.items():
        txn = txns[t]
        for _, item, _ in found:
            left, right = (item, txn) if items_left else (txn, item)
            lefts.append(item["row_no"] if items_left else t)
            rights.append(t if items_left else item["row_no"])
            diffs.append((right[right_column] - left[left_column]).days)
    bits = level_weights(*count_levels(lefts, rights, diffs, days))
    if bits is None:
        return edges
    penalties = level_penalties(bits)
    weighed: dict[int, list[Candidate]] = {}
    position = 0
    for t, found in edges.items():
        out = []
        for _, item, score in found:
            penalty = penalties[min(max(diffs[position], -days), days) + days]
            out.append((decision_score(score, penalty), item, score))
            position += 1
        weighed[t] = out
    return weighed


def _decide(
    step: InstantPass,
    t: int,
    found: list[Candidate],
    *,
    by_item: Mapping[int, list[tuple[float, int]]],
    txns: Sequence[Mapping[str, Any]],
    taken: set[int],
    open_txns: set[int],
    outcome: Outcome,
) -> None:
    margin = step.spec.margin
    if len(found) == 1:  # the common case: one candidate, nothing to order
        if found[0][1]["row_no"] in taken:
            return
    else:
        found = sorted(
            (p for p in found if p[1]["row_no"] not in taken), key=lambda p: (-p[0], p[1]["row_no"])
        )
        if not found:
            return
    decision, item, score = found[0]
    claims = by_item[item["row_no"]]
    # the strongest other transaction on this item (the highest score; of equal scores, the latest one)
    best = max((c for c in claims if c[1] != t), default=None) if len(claims) > 1 else None
    if best is not None and best[0] > decision + margin:  # the item is clearly another transaction's
        return
    rival: dict[str, Any] | None = None
    if len(found) > 1 and found[1][0] >= decision - margin:
        rival = {"side": step.item_side, "id": found[1][1]["ext_id"], "score": round(found[1][0], 6)}
    elif best is not None and best[0] >= decision - margin:
        rival = {"side": "transactions", "id": txns[best[1]].get("id"), "score": round(best[0], 6)}
    pairing = Pairing(t, item, step.spec.name, score, step.differences(item, txns[t]), rival)
    suggest = step.spec.suggest or (step.spec.suggest_below is not None and score < step.spec.suggest_below)
    taken.add(item["row_no"])
    open_txns.discard(t)
    if rival is not None or suggest:
        outcome.suggestions.append(pairing)
        if rival is not None:
            outcome.ambiguous.add(t)
    else:
        outcome.matches.append(pairing)


_ITEM_COLUMNS = ", ".join(f"i.{name}" for name in ITEM_FIELDS)
_OPEN = "NOT EXISTS (SELECT 1 FROM open_item_closes c WHERE c.book_id = k.book_id AND c.row_no = k.row_no)"
# SQLite plans it key by key: the json_each list, then the keys' primary key, then the items' primary key.
_LOOKUP_SQLITE = f"""
SELECT k.key, {_ITEM_COLUMNS}
FROM open_item_keys k JOIN open_items i ON i.book_id = k.book_id AND i.row_no = k.row_no
WHERE k.book_id = :book_id AND k.pass_no = :pass_no AND k.key IN (SELECT value FROM json_each(:keys))
  AND {_OPEN}
"""
# PostgreSQL: the probes drive the join, one primary-key descent per probe. `key = ANY(:keys)` was planned as
# a scan of the whole pass (hash join, or the index range of the pass with ANY as a filter): 0.2 s per pass
# at 100k items, growing with the book. Nested loops over the indexes are forced for this statement only
# (SET LOCAL ... then RESET), so the cost stays proportional to the request, not to the book. The probes are
# bound as one JSON array (json.dumps in C) rather than a text[] that psycopg quotes element by element in
# Python (~15,000-30,000 keys per request).
_LOOKUP_PG = f"""
SELECT k.key, {_ITEM_COLUMNS}
FROM json_array_elements_text(CAST(:keys AS json)) AS q(key)
JOIN open_item_keys k ON k.book_id = :book_id AND k.pass_no = :pass_no AND k.key = q.key COLLATE "C"
JOIN open_items i ON i.book_id = k.book_id AND i.row_no = k.row_no
WHERE {_OPEN}
"""
_INDEX_ONLY = ("enable_seqscan", "enable_hashjoin", "enable_mergejoin", "enable_bitmapscan")


def row_source(session: Session, rows: list[int]) -> tuple[str, Any]:
    """A list of row numbers as a table of one column `row_no`, bound as ONE parameter `:values`."""
    if session.get_bind().dialect.name == "postgresql":
        return "unnest(CAST(:values AS integer[])) AS r(row_no)", rows
    return "(SELECT value AS row_no FROM json_each(:values))", json.dumps(rows)


def _lookup(session: Session, book_id: str, pass_no: int, keys: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Open items by blocking key (the keys' primary key index, then the items' primary key). Read through
    the driver's cursor: tens of thousands of rows per request, converted here (SQLite keeps dates as ISO
    text and money as its sortable text) rather than by the column types row by row."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not keys:
        return out
    connection = session.connection()
    probes = sorted(keys)
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("; ".join(f"SET LOCAL {setting} = off" for setting in _INDEX_ONLY))
        rows = connection.exec_driver_sql(
            _LOOKUP_PG.replace(":book_id", "%(book_id)s").replace(":pass_no", "%(pass_no)s")
            .replace(":keys", "%(keys)s"),
            {"book_id": book_id, "pass_no": pass_no, "keys": json.dumps(probes)},
        ).all()  # fmt: skip
        # (a failed statement ends the transaction, and SET LOCAL with it)
        connection.exec_driver_sql("; ".join(f"RESET {setting}" for setting in _INDEX_ONLY))
        for key, *values in rows:
            item = dict(zip(ITEM_FIELDS, values, strict=True))
            item["id"] = item["ext_id"]
            out[key].append(item)
        return out
    params = {"book_id": book_id, "pass_no": pass_no, "keys": json.dumps(probes)}
    for key, *values in connection.exec_driver_sql(_LOOKUP_SQLITE, params).all():
        item = dict(zip(ITEM_FIELDS, values, strict=True))
        item["id"] = item["ext_id"]
        item["date"] = _sqlite_date(item["date"])
        item["value_date"] = _sqlite_date(item["value_date"])
        if item["amount"] is not None:  # as recon.models.types.Money reads it
            amount = item["amount"]
            item["amount"] = from_sortable_text(amount) if amount[:1] in ("N", "P") else Decimal(amount)
        out[key].append(item)
    return out


def _sqlite_date(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)
