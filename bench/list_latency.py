"""Latency of the review workspace's lists (used by api_run_bench.py): every list at a shallow cursor (its
first page) and a deep one (the middle of the list), at limit 100 and 1000, median and p99.

A deep cursor is made from the database the way the API makes cursors (the sort key of the row at the middle
of the walk, `encode_cursor`), so reaching the middle of a million rows costs one in-process walk over the key
columns instead of 500 pages through the API.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from recon.core.pagination import PageParams, SortKey, _segment, encode_cursor, keyset_page
from recon.models.runs import GroupStatus, ItemState, Side, UnmatchedReason
from recon.results.repository import (
    GROUP_ORDERS,
    ITEM_ORDERS,
    GroupFilters,
    ItemFilters,
    filtered_groups,
    filtered_items,
    resolve,
)
from recon.results.schemas import GroupSort, ItemSort

TARGET_P99_MS = {100: 20.0, 1000: 60.0}


@dataclass
class ListCase:
    name: str
    path: str  # under /api/v1/runs/{run_id}
    params: dict[str, Any]
    sort: str
    groups: GroupFilters | None = None
    items: ItemFilters | None = None
    figures: dict[str, Any] = field(default_factory=dict)


def review_lists(first_pass: str, amount_floor: Decimal) -> list[ListCase]:
    """The lists the review workspace asks for: each tab in each sort, and its filters."""
    cases = []
    for sort in GroupSort:
        cases.append(
            ListCase(
                f"groups suggested {sort.value}",
                "groups",
                {"status": "suggested", "sort": sort.value},
                sort.value,
                groups=GroupFilters(status=(GroupStatus.SUGGESTED,)),
            )
        )
    for status in (GroupStatus.BREAK, GroupStatus.MATCHED):
        for sort in (GroupSort.SEQ, GroupSort.AMOUNT_DESC):
            cases.append(
                ListCase(
                    f"groups {status.value} {sort.value}",
                    "groups",
                    {"status": status.value, "sort": sort.value},
                    sort.value,
                    groups=GroupFilters(status=(status,)),
                )
            )
    cases.append(
        ListCase(
            f"groups pass={first_pass}",
            "groups",
            {"pass": first_pass},
            "seq",
            groups=GroupFilters(pass_name=first_pass),
        )
    )
    cases.append(
        ListCase(
            "groups suggested min_score=0.8",
            "groups",
            {"status": "suggested", "min_score": 0.8},
            "seq",
            groups=GroupFilters(status=(GroupStatus.SUGGESTED,), min_score=0.8),
        )
    )
    for side in Side:
        for sort in ItemSort:
            cases.append(
                ListCase(
                    f"unmatched {side.value} {sort.value}",
                    "unmatched",
                    {"side": side.value, "sort": sort.value},
                    sort.value,
                    items=ItemFilters(side=side, state=ItemState.UNMATCHED),
                )
            )
    cases.append(
        ListCase(
            "unmatched left reason=no_candidate",
            "unmatched",
            {"side": "left", "reason": "no_candidate"},
            "id",
            items=ItemFilters(
                side=Side.LEFT, state=ItemState.UNMATCHED, reason=(UnmatchedReason.NO_CANDIDATE.value,)
            ),
        )
    )
    cases.append(
        ListCase(
            f"unmatched left amount>={amount_floor}",
            "unmatched",
            {"side": "left", "amount_min": str(amount_floor), "sort": "amount"},
            "amount",
            items=ItemFilters(side=Side.LEFT, state=ItemState.UNMATCHED, amount_min=amount_floor),
        )
    )
    cases.append(
        ListCase(
            "suggested state (right)",
            "unmatched",
            {"side": "right", "state": "suggested"},
            "id",
            items=ItemFilters(side=Side.RIGHT, state=ItemState.SUGGESTED),
        )
    )
    return cases


def _keys_and_stmt(case: ListCase, run_id: str) -> tuple[tuple[SortKey, ...], Any]:
    today = dt.datetime.now(dt.UTC).date()
    if case.groups is not None:
        keys = resolve(GROUP_ORDERS, case.sort)
        return keys, filtered_groups(select(*(k.column for k in keys)), run_id, case.groups, today)
    assert case.items is not None
    keys = resolve(ITEM_ORDERS, case.sort)
    return keys, filtered_items(select(*(k.column for k in keys)), run_id, case.items, today)


def deep_cursor(session: Session, case: ListCase, run_id: str) -> tuple[str | None, int]:
    """A cursor at the middle of the list, and the list's length."""
    keys, stmt = _keys_and_stmt(case, run_id)
    rows = keyset_page(session, stmt, keys, PageParams(limit=10_000_000), scalars=False).items
    if len(rows) < 2:
        return None, len(rows)
    middle = rows[len(rows) // 2 - 1]
    return encode_cursor([middle._mapping[k.name] for k in keys]), len(rows)


def explain_deep(session: Session, case: ListCase, run_id: str, cursor: str | None) -> str:
    """The plan of the deep page's query (the first segment after the cursor)."""
    from recon.core.pagination import decode_cursor

    keys, stmt = _keys_and_stmt(case, run_id)
    after = decode_cursor(cursor, len(keys)) if cursor else None
    nulls = bool(after is not None and keys[0].nullable and after[0] is None)
    query = _segment(stmt, keys, nulls, after).limit(101)
    connection = session.connection()
    compiled = query.compile(dialect=connection.dialect)
    # Bound values as the driver gets them (money is text on SQLite), so the plan is the API's plan.
    raw, processors = compiled.construct_params(), compiled._bind_processors
    values = {name: processors[name](v) if name in processors else v for name, v in raw.items()}
    postgres = connection.dialect.name == "postgresql"
    prefix = "EXPLAIN (COSTS OFF) " if postgres else "EXPLAIN QUERY PLAN "
    args: Any = values if compiled.positiontup is None else tuple(values[n] for n in compiled.positiontup)
    rows = connection.exec_driver_sql(prefix + str(compiled), args).all()
    return "\n".join(str(row[-1]) for row in rows)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


def time_pages(
    client: httpx.Client, url: str, params: dict[str, Any], start: str | None, limit: int, requests: int
) -> dict[str, Any]:
    """`requests` pages going on from `start` (back to it at the end of the list)."""
    times, cursor, rows, client_cpu = [], start, 0, 0.0
    for _ in range(requests):
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        began, began_cpu = time.perf_counter(), time.thread_time()
        response = client.get(url, params=query)
        times.append(time.perf_counter() - began)
        client_cpu += time.thread_time() - began_cpu
        if response.status_code != 200:
            raise SystemExit(f"GET {url} {query}: {response.status_code} {response.text[:300]}")
        body = response.json()
        rows += len(body["items"])
        cursor = body["next_cursor"] or start
    return {
        "n": len(times),
        "median_ms": round(statistics.median(times) * 1000, 2),
        "p99_ms": _pct(times, 0.99),
        "rows_per_page": round(rows / len(times), 1),
        "p99_target_met": _pct(times, 0.99) <= TARGET_P99_MS[limit],
        # The client's own CPU inside the timed calls (sending, reading the body): part of every wall time.
        "client_cpu_ms_per_request": round(client_cpu / len(times) * 1000, 2),
    }


def measure_lists(
    client: httpx.Client,
    database_url: str,
    run_id: str,
    cases: list[ListCase],
    requests: int,
    before_case: Callable[[], None] | None = None,
    server_cpu_s: Callable[[], float] | None = None,
) -> list[ListCase]:
    """Time every case; `before_case` runs before each (e.g. a new login: a token lasts 15 minutes).
    `server_cpu_s()`: the server's CPU seconds so far; each cell then also gets the server's CPU per request
    (user + sys), a figure the machine's load inflates far less than the wall times."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with Session(engine) as session:
            for case in cases:
                if before_case is not None:
                    before_case()
                deep, length = deep_cursor(session, case, run_id)
                case.figures = {"rows": length, "plan_deep": explain_deep(session, case, run_id, deep)}
                url = f"/api/v1/runs/{run_id}/{case.path}"
                for depth, start in (("shallow", None), ("deep", deep)):
                    for limit in (100, 1000):
                        cpu_before = server_cpu_s() if server_cpu_s else 0.0
                        figures = time_pages(client, url, case.params, start, limit, requests)
                        if server_cpu_s is not None:
                            cpu = (server_cpu_s() - cpu_before) / requests
                            figures["server_cpu_ms_per_request"] = round(cpu * 1000, 2)
                        case.figures[f"{depth}_limit_{limit}"] = figures
                print_case(case)
    finally:
        engine.dispose()
    return cases


def print_case(case: ListCase) -> None:
    cells = []
    for depth in ("shallow", "deep"):
        for limit in (100, 1000):
            f = case.figures[f"{depth}_limit_{limit}"]
            mark = "" if f["p99_target_met"] else "!"
            cells.append(f"{f['median_ms']:7.1f}/{f['p99_ms']:7.1f}{mark:1s}")
    cpu = [
        f"{case.figures[f'{d}_limit_{n}'].get('server_cpu_ms_per_request', 0):.1f}"
        for d in ("shallow", "deep")
        for n in (100, 1000)
    ]
    client = [
        f"{case.figures[f'{d}_limit_{n}'].get('client_cpu_ms_per_request', 0):.1f}"
        for d in ("shallow", "deep")
        for n in (100, 1000)
    ]
    line = f"  {case.name:38s} {case.figures['rows']:>8d}  " + "  ".join(cells)
    print(f"{line}  cpu {'/'.join(cpu)}  client {'/'.join(client)}", flush=True)


LIST_HEADER = (
    f"  {'list':38s} {'rows':>8s}  {'shallow 100':>16s}  {'shallow 1000':>16s}  {'deep 100':>16s}  "
    f"{'deep 1000':>16s}   (median/p99 ms; ! = p99 over target 20 ms at 100, 60 ms at 1000; server CPU ms "
    "per request, then the client's, same cells)"
)
