"""The results' exactly-once and control-totals figures as one query over a side held by the backend.

The driver knows the group members (the assignment's output: rid and status per member); the side's
records and its amount column stay where the backend holds them. One query per side (DuckDB's dialect,
transpiled for Spark like the plan's) joins the members to the side's records and gives, per status, the
records and the sum of the amount column, the output rows and the records not present exactly once, plus
the side's own total as an independent row (status -1). recon.engine.results turns these into the same
figures and errors as its driver-side arrays.
"""

from __future__ import annotations

from typing import Any, Protocol

import pyarrow as pa

from recon.engine import sql
from recon.engine.backend import SideTotals

UNMATCHED = 3  # status code of a record in no group (recon.engine.results.UNMATCHED)
TOTAL = -1  # the row of the side's total
MEMBERS = "__members"


class Queries(Protocol):
    def register(self, name: str, table: pa.Table) -> None: ...

    def unregister(self, name: str) -> None: ...

    def arrow(self, query: str) -> pa.Table: ...


def totals_query(relation: str, members: str, amount: str | None) -> str:
    value = f"l.{sql.quote(amount)}" if amount is not None else "NULL"
    return f"""
        WITH m AS (SELECT rid, count(*) AS k, min(status) AS status FROM {members} GROUP BY rid),
        j AS (SELECT l.__rid AS rid, m.k AS k, coalesce(m.status, {UNMATCHED}) AS status, {value} AS amount
              FROM {relation} l FULL OUTER JOIN m ON l.__rid = m.rid)
        SELECT CAST(status AS INTEGER) AS status, count(rid) AS records,
               sum(coalesce(k, 1)) AS listed,
               sum(CASE WHEN rid IS NULL OR k > 1 THEN 1 ELSE 0 END) AS not_once,
               sum(amount) AS amount
        FROM j GROUP BY status
        UNION ALL
        SELECT {TOTAL}, count(*), 0, 0, sum({value}) FROM {relation} l"""


def side_totals(backend: Queries, relation: str, members: pa.Table, amount: str | None) -> SideTotals:
    """The side's SideTotals: `members` (rid int64, status int8, one row per group member of the side) is
    registered for the query and dropped after it."""
    backend.register(MEMBERS, members)
    try:
        rows = backend.arrow(totals_query(relation, MEMBERS, amount)).to_pylist()
    finally:
        backend.unregister(MEMBERS)
    records, amounts = [0] * (UNMATCHED + 1), [None] * (UNMATCHED + 1)
    listed = not_once = 0
    total: Any = None
    for row in rows:
        status = int(row["status"])
        if status == TOTAL:
            total = row["amount"]
            continue
        records[status] += int(row["records"])
        listed += int(row["listed"] or 0)
        not_once += int(row["not_once"] or 0)
        amounts[status] = row["amount"]
    return SideTotals(
        tuple(records),
        listed,
        not_once,
        tuple(amounts) if amount is not None else None,
        total if amount is not None else None,
    )
