"""How to store money on SQLite: the candidates of docs/adr/0006-exact-money-on-sqlite.md, measured in one
process on the same random amounts (cents up to 10**15, 17 significant digits, both signs).

    uv run python bench/money_sqlite_bench.py                 # 1,000,000 rows
    uv run python bench/money_sqlite_bench.py --rows 200000

Candidates (a table like run_items: run, state, amount; an index (run, state, amount)):
- float:    REAL (SQLite's NUMERIC affinity), native SUM              -- what the platform did before
- text:     exact sortable text (recon.core.money), recon_money_sum     -- the choice
- integer:  INTEGER count of 10**-4 (range +-9.2e14), native SUM
Figures per candidate: insert rows/s, grouped SUM wall time, a deep keyset page ordered by amount, database
size, and whether the sums equal the Decimal sums exactly. Ratios are against `float` (the baseline).
Writes bench/out/money_sqlite_bench.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

from recon.core.money import MONEY_CONTEXT, from_sortable_text, register_sqlite_money, sortable_text

STATES = ("matched", "unmatched", "break", "suggested")
OUT = Path(__file__).parent / "out"


def amounts(rows: int, seed: int) -> list[Decimal]:
    rng = random.Random(seed)
    return [Decimal(rng.randint(-(10**15), 10**15)).scaleb(-2) for _ in range(rows)]


Encode = Callable[[Decimal], Any]
Decode = Callable[[Any], Decimal]
CANDIDATES: dict[str, tuple[str, Encode, Decode, str]] = {
    # name: (column type, encode, decode of a SUM result, SUM expression)
    "float": ("REAL", float, lambda v: Decimal(repr(v)), "sum(amount)"),
    "text": ("NUMERIC(38, 10)", sortable_text, from_sortable_text, "recon_money_sum(amount)"),
    "integer": ("INTEGER", lambda d: int(d.scaleb(4)), lambda v: Decimal(v).scaleb(-4), "sum(amount)"),
}


def measure(name: str, values: list[Decimal], folder: Path) -> dict[str, Any]:
    column, encode, decode, sum_sql = CANDIDATES[name]
    path = folder / f"{name}.db"
    connection = sqlite3.connect(path)
    register_sqlite_money(connection)
    connection.execute(f"CREATE TABLE items (id INTEGER PRIMARY KEY, run TEXT, state TEXT, amount {column})")
    connection.execute("CREATE INDEX ix ON items (run, state, amount, id)")
    rows = [("r1", STATES[i % 4], encode(v)) for i, v in enumerate(values)]
    started = time.perf_counter()
    connection.executemany("INSERT INTO items (run, state, amount) VALUES (?, ?, ?)", rows)
    connection.commit()
    insert_s = time.perf_counter() - started

    with localcontext(MONEY_CONTEXT):
        expected = {s: sum(values[i::4], Decimal(0)) for i, s in enumerate(STATES)}
    started = time.perf_counter()
    try:
        sums = dict(connection.execute(f"SELECT state, {sum_sql} FROM items GROUP BY state").fetchall())
    except sqlite3.OperationalError as exc:  # INTEGER: "integer overflow" past 9.2e18 units
        sums, failure = {}, str(exc)
    else:
        failure = ""
    sum_s = time.perf_counter() - started
    exact = bool(sums) and all(decode(sums[s]) == expected[s] for s in STATES)
    worst = max(abs(decode(sums[s]) - expected[s]) for s in STATES) if sums else None

    middle = sorted(values)[len(values) // 2]
    started = time.perf_counter()
    for _ in range(20):  # a keyset page deep in the amount order
        connection.execute(
            "SELECT id, amount FROM items WHERE run = 'r1' AND state = 'unmatched' AND amount > ? "
            "ORDER BY amount, id LIMIT 100",
            (encode(middle),),
        ).fetchall()
    page_ms = (time.perf_counter() - started) / 20 * 1000
    connection.close()
    return {
        "insert_rows_per_s": round(len(values) / insert_s),
        "sum_s": round(sum_s, 3),
        "page_ms": round(page_ms, 2),
        "size_mb": round(path.stat().st_size / 1e6, 1),
        "exact": exact,
        "worst_error": "n/a" if worst is None else format(worst, "f"),
        "failure": failure,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    values = amounts(args.rows, args.seed)
    results: dict[str, Any] = {"rows": args.rows}
    with tempfile.TemporaryDirectory() as folder:
        for name in CANDIDATES:
            results[name] = measure(name, values, Path(folder))
    base = results["float"]
    for name in CANDIDATES:
        figures = results[name]
        figures["insert_ratio"] = round(base["insert_rows_per_s"] / figures["insert_rows_per_s"], 2)
        figures["sum_ratio"] = round(figures["sum_s"] / max(base["sum_s"], 1e-9), 1)
        print(
            f"{name:>8}: insert {figures['insert_rows_per_s']:>9,} rows/s "
            f"(x{figures['insert_ratio']} slower), grouped SUM {figures['sum_s']:.3f} s "
            f"(x{figures['sum_ratio']}), deep page {figures['page_ms']} ms, "
            f"{figures['size_mb']} MB, exact: {figures['exact']} (worst error {figures['worst_error']})"
            + (f" -- {figures['failure']}" if figures["failure"] else "")
        )
    OUT.mkdir(exist_ok=True)
    (OUT / "money_sqlite_bench.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
