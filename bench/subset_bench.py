"""Bounded subset search (a grouped kind without group_by) at 100k open records a side.

    uv run python bench/subset_bench.py [--records 100000]

Each right record is paid by 2-4 left records of its customer (customers of ~4 right records each), amounts
in cents, so every right record has about a dozen candidates and the search must find the subset that sums to
it. Prints wall time of reconcile() (the target: <= 10 s at 100k a side), groups found and how many are right.
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal

import numpy as np
import pyarrow as pa

from recon.engine import parse_rules, reconcile

RULES = """\
version: 1
name: subset-search
left: {id: id}
right: {id: id}
passes:
  - name: payments
    kind: many_to_one
    max_group_size: 4
    match:
      - {left: customer, right: customer, op: equals}
    sum: {left: amount, right: amount, abs: 0}
"""


def tables(records: int, seed: int) -> tuple[pa.Table, pa.Table, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 5, records)
    owner = np.repeat(np.arange(records), sizes)
    cents = rng.integers(1_000, 500_000, len(owner))
    totals = np.bincount(owner, weights=cents).astype(np.int64)
    customer = np.arange(records) // 4
    amounts = [Decimal(int(c)).scaleb(-2) for c in cents.tolist()]
    left = pa.table(
        {
            "id": [f"L{k:08d}" for k in range(len(owner))],
            "customer": customer[owner].astype(str),
            "amount": pa.array(amounts, pa.decimal128(18, 2)),
        }
    )
    right = pa.table(
        {
            "id": [f"R{k:08d}" for k in range(records)],
            "customer": customer.astype(str),
            "amount": pa.array([Decimal(int(t)).scaleb(-2) for t in totals.tolist()], pa.decimal128(18, 2)),
        }
    )
    return left, right, owner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    left, right, owner = tables(args.records, args.seed)
    rules = parse_rules(RULES)
    started = time.perf_counter()
    result = reconcile(left, right, rules)
    wall = time.perf_counter() - started
    rows = result.matches.to_pylist()
    members: dict[int, dict[str, list[str]]] = {}
    for row in rows:
        members.setdefault(row["group_id"], {"left": [], "right": []})[row["side"]].append(row["id"])
    right_ok = sum(
        1
        for group in members.values()
        if {int(owner[int(lid[1:])]) for lid in group["left"]} == {int(group["right"][0][1:])}
    )
    statuses = {
        s: sum(1 for r in rows if r["side"] == "right" and r["status"] == s) for s in ("matched", "suggested")
    }
    print(
        f"subset search: {len(left):,} left x {len(right):,} right records in {wall:.2f} s; "
        f"{len(members):,} groups ({statuses}), {right_ok:,} with exactly the true members"
    )


if __name__ == "__main__":
    main()
