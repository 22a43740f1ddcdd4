"""The results' exactly-once and control-totals figures of both sides in one query where they are held.

The driver knows the group members (the assignment's output: side, rid and status per member); the
sides' records and their amount columns stay where the backend holds them. One query (DuckDB's dialect,
transpiled for Spark like the plan's) stacks the two sides' records (rid, amount) and the members (rid,
status) and groups them by (side, rid) once: a record's member rows and its own row meet in one group,
without a join (one shuffle, where a join of members to records sorted both). A second grouping by
(side, status) gives, per status, the records and the sum of the amount column, the output rows and
the records not present exactly once; its grouping set (side) gives the side's total. Each side's
amount is a column of its own (a0, a1): a UNION would widen one side's type to the other's.
recon.engine.results turns these into the same figures and errors as its driver-side arrays.
"""

from __future__ import annotations

from typing import Any, Protocol

import pyarrow as pa

from recon.engine import sql
from recon.engine.backend import HeldSide, SideTotals

UNMATCHED = 3  # status code of a record in no group (recon.engine.results.UNMATCHED)
MEMBERS = "__members"
SIDES = ("left", "right")


class Queries(Protocol):
    def register(self, name: str, table: pa.Table) -> None: ...

    def unregister(self, name: str) -> None: ...

    def arrow(self, query: str) -> pa.Table: ...


def totals_query(held: dict[str, HeldSide], members: str) -> str:
    """The query over the sides in `held` (relation, amount column) and the member table `members`
    (side int8: 0 left / 1 right, rid int64, status int8)."""
    stacked = []
    for code, name in enumerate(SIDES):
        if name not in held:
            continue
        side = held[name]
        amounts = [
            f"{sql.quote(side.amount)}" if i == code and side.amount is not None else "NULL" for i in (0, 1)
        ]
        stacked.append(
            f"SELECT {code} AS side, __rid AS rid, 1 AS present, 0 AS k, NULL AS status, "
            f"{amounts[0]} AS a0, {amounts[1]} AS a1 FROM {side.relation}"
        )
    stacked.append(
        f"SELECT CAST(side AS INTEGER), rid, 0, 1, CAST(status AS INTEGER), NULL, NULL FROM {members}"
    )
    union = "\n        UNION ALL ".join(stacked)
    return f"""
        WITH stacked AS ({union}),
        per_record AS (
            SELECT side, rid, sum(present) AS present, sum(k) AS k,
                   coalesce(min(status), {UNMATCHED}) AS status, sum(a0) AS a0, sum(a1) AS a1
            FROM stacked GROUP BY side, rid)
        SELECT side, status, sum(present) AS records,
               sum(CASE WHEN k = 0 THEN 1 ELSE k END) AS listed,
               sum(CASE WHEN present <> 1 OR k > 1 THEN 1 ELSE 0 END) AS not_once,
               sum(a0) AS a0, sum(a1) AS a1
        FROM per_record GROUP BY GROUPING SETS ((side, status), (side))"""


def held_totals(backend: Queries, held: dict[str, HeldSide], members: pa.Table) -> dict[str, SideTotals]:
    """Each side's SideTotals from one query: `members` (side int8, rid int64, status int8: one row per
    group member) is registered for the query and dropped after it."""
    backend.register(MEMBERS, members)
    try:
        rows = backend.arrow(totals_query(held, MEMBERS)).to_pylist()
    finally:
        backend.unregister(MEMBERS)
    return {name: _side(rows, code, held[name]) for code, name in enumerate(SIDES) if name in held}


def _side(rows: list[dict[str, Any]], code: int, held: HeldSide) -> SideTotals:
    records, amounts = [0] * (UNMATCHED + 1), [None] * (UNMATCHED + 1)
    listed = not_once = 0
    total: Any = None
    for row in rows:
        if int(row["side"]) != code:
            continue
        amount = row[f"a{code}"]
        if row["status"] is None:  # the grouping set (side): the side's total
            total = amount
            continue
        status = int(row["status"])
        records[status] += int(row["records"])
        listed += int(row["listed"] or 0)
        not_once += int(row["not_once"] or 0)
        amounts[status] = amount
    known = held.amount is not None
    return SideTotals(
        tuple(records), listed, not_once, tuple(amounts) if known else None, total if known else None
    )
