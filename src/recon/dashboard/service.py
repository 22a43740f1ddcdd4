"""The project dashboard: match rate per run, open exceptions by age bucket and owner, trend over runs.

Open exceptions are the unmatched records and the break groups of the latest succeeded run of every
(left dataset, right dataset) pair of the project: reruns over the same files supersede earlier runs, while
runs over other files (another day, another month) stay open work until they are cleared. An exception's
age is today's UTC date minus the UTC date it was opened (`opened_at`, carried over between runs of the same
records; the run's creation when unknown).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session

from recon.core.money import render_amount
from recon.core.responses import response_of
from recon.core.time import utcnow
from recon.dashboard import repository as repo
from recon.dashboard.schemas import (
    AGE_BUCKETS,
    AgeBuckets,
    CurrencyAmounts,
    Dashboard,
    OpenExceptionsView,
    OwnerExceptions,
    RunStats,
    SideCounts,
    SideRates,
    TrendPoint,
)
from recon.models import Run
from recon.models.runs import GroupStatus, ItemState

SCOPE = "latest succeeded run of every (left dataset, right dataset) pair"


def _rate(matched: int, records: int) -> float | None:
    return round(matched / records, 6) if records else None


def _buckets(counts: list[int]) -> AgeBuckets:
    return AgeBuckets.model_validate(dict(zip(AGE_BUCKETS, counts, strict=True)))


def age_edges(today: dt.date) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    """Start instants (UTC midnight) of the oldest day of the 0-1, 2-7 and 8-30 day buckets."""

    def midnight(days_ago: int) -> dt.datetime:
        day = today - dt.timedelta(days=days_ago)
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)

    return midnight(1), midnight(7), midnight(30)


def _side_counts(items: dict[str, dict[str, int]], category: str) -> SideCounts:
    left, right = (items.get(side, {}).get(category, 0) for side in ("left", "right"))
    return SideCounts(left=left, right=right, total=left + right)


def _amounts(
    rows: list[repo.CategoryRow], writeoffs: list[tuple[str | None, Decimal]]
) -> list[CurrencyAmounts]:
    """Exact amounts per currency (records without a currency join the run's only one)."""
    known = {r.currency for r in rows if r.currency} | {c for c, _ in writeoffs if c}
    single = next(iter(known)) if len(known) == 1 else None
    sums: dict[str | None, dict[str, dict[str, Decimal]]] = {}
    differences: dict[str | None, Decimal] = {}
    for row in rows:
        sides = sums.setdefault(row.currency or single, {"left": {}, "right": {}})
        sides[row.side][row.category] = sides[row.side].get(row.category, Decimal(0)) + row.amount
    for currency, amount in writeoffs:
        key = currency or single
        sums.setdefault(key, {"left": {}, "right": {}})
        differences[key] = differences.get(key, Decimal(0)) + amount
    return [
        CurrencyAmounts(
            currency=currency,
            left={k: render_amount(v, currency) for k, v in sorted(sides["left"].items())},
            right={k: render_amount(v, currency) for k, v in sorted(sides["right"].items())},
            written_off_differences=render_amount(differences.get(currency, Decimal(0)), currency),
        )
        for currency, sides in sorted(sums.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
    ]


def _run_stats(
    run: Run,
    rows: list[repo.CategoryRow],
    groups: dict[str, int],
    writeoffs: list[tuple[str | None, Decimal]],
) -> RunStats:
    items: dict[str, dict[str, int]] = {"left": {}, "right": {}}
    for row in rows:
        items[row.side][row.category] = items[row.side].get(row.category, 0) + row.records
    records = {side: sum(items.get(side, {}).values()) for side in ("left", "right")}
    matched = _side_counts(items, ItemState.MATCHED)
    unmatched = sum(items.get(side, {}).get(ItemState.UNMATCHED, 0) for side in ("left", "right"))
    total_records = sum(records.values())
    return response_of(
        RunStats,
        run,
        run_id=run.id,
        records=SideCounts(left=records["left"], right=records["right"], total=total_records),
        matched=matched,
        written_off=_side_counts(items, "written_off"),
        reconciling=_side_counts(items, ItemState.RECONCILING),
        amounts=_amounts(rows, writeoffs),
        match_rate=SideRates(
            left=_rate(matched.left, records["left"]),
            right=_rate(matched.right, records["right"]),
            overall=_rate(matched.total, total_records),
        ),
        items_by_state=items,
        groups_by_status=groups,
        open_exceptions=unmatched + groups.get(GroupStatus.BREAK, 0),
    )


def build_dashboard(
    session: Session, project_id: str, recent: int, today: dt.date | None = None
) -> Dashboard:
    today = today or utcnow().date()
    runs = repo.recent_runs(session, project_id, recent)
    run_ids = [r.id for r in runs]
    rows = repo.category_rows(session, run_ids)
    groups = repo.group_counts(session, run_ids)
    writeoffs = repo.writeoff_rows(session, run_ids)
    stats = [
        _run_stats(
            run,
            [r for r in rows if r.run_id == run.id],
            groups[run.id],
            [(c, a) for rid, c, a in writeoffs if rid == run.id],
        )
        for run in runs
    ]

    scope = repo.latest_run_per_pair(session, project_id)
    owners, unmatched, breaks = repo.exceptions_by_owner_and_age(session, scope, age_edges(today))
    names = repo.user_names(session, [o for o in owners if o is not None])
    by_owner = sorted(
        (
            OwnerExceptions(
                assignee_id=owner,
                name="unassigned" if owner is None else names.get(owner, owner),
                total=sum(counts),
                by_age=_buckets(counts),
            )
            for owner, counts in owners.items()
        ),
        key=lambda o: (-o.total, o.name),
    )
    overall = [sum(counts[i] for counts in owners.values()) for i in range(4)]
    return Dashboard(
        project_id=project_id,
        as_of=today,
        runs=stats,
        open_exceptions=OpenExceptionsView(
            scope=SCOPE,
            run_ids=scope,
            unmatched_items=unmatched,
            breaks=breaks,
            total=unmatched + breaks,
            by_age=_buckets(overall),
            by_owner=by_owner,
        ),
        trend=[
            TrendPoint(
                run_id=s.run_id,
                created_at=s.created_at,
                match_rate=s.match_rate.overall,
                open_exceptions=s.open_exceptions,
            )
            for s in reversed(stats)
        ],
    )
