"""Dashboard queries: aggregates over run_items / match_groups by run, kept to indexed columns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from recon.models import MatchGroup, Run, RunItem, User
from recon.models.runs import ITEM_GROUP_JOIN, GroupStatus, ItemState, RunStatus
from recon.models.types import money_sum
from recon.review.statement_repository import item_category


def recent_runs(session: Session, project_id: str, limit: int) -> list[Run]:
    stmt = (
        select(Run)
        .where(Run.project_id == project_id, Run.status == RunStatus.SUCCEEDED)
        .order_by(Run.created_at.desc(), Run.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def latest_run_per_pair(session: Session, project_id: str) -> list[str]:
    """Ids of the newest succeeded run of every (left dataset, right dataset) pair of the project: a rerun
    over the same files supersedes the earlier runs (their exceptions live on in it, with their age)."""
    stmt = (
        select(Run.id, Run.left_dataset_id, Run.right_dataset_id)
        .where(Run.project_id == project_id, Run.status == RunStatus.SUCCEEDED)
        .order_by(Run.created_at.desc(), Run.id.desc())
    )
    seen: set[tuple[str, str]] = set()
    latest = []
    for run_id, left, right in session.execute(stmt).tuples():
        if (left, right) not in seen:
            seen.add((left, right))
            latest.append(run_id)
    return latest


@dataclass(frozen=True)
class CategoryRow:
    run_id: str
    currency: str | None
    side: str
    category: str  # an item state, or written_off (matched on their own)
    records: int
    amount: Decimal


def category_rows(session: Session, run_ids: Sequence[str]) -> list[CategoryRow]:
    """Records and exact amounts per run, currency, side and category (see recon.review.repository)."""
    if not run_ids:
        return []
    category = item_category().label("category")
    stmt = (
        select(
            RunItem.run_id, RunItem.currency, RunItem.side, category, func.count(), money_sum(RunItem.amount)
        )
        .select_from(RunItem)
        .outerjoin(MatchGroup, ITEM_GROUP_JOIN)
        .where(RunItem.run_id.in_(run_ids))
        .group_by(RunItem.run_id, RunItem.currency, RunItem.side, category)
    )
    return [
        CategoryRow(run_id, currency, side, cat, int(n), amount or Decimal(0))
        for run_id, currency, side, cat, n, amount in session.execute(stmt).tuples()
    ]


def writeoff_rows(session: Session, run_ids: Sequence[str]) -> list[tuple[str, str | None, Decimal]]:
    """(run_id, currency, exact written-off amount) of matched groups with a write-off."""
    if not run_ids:
        return []
    stmt = (
        select(MatchGroup.run_id, MatchGroup.currency, money_sum(MatchGroup.writeoff_amount))
        .where(
            MatchGroup.run_id.in_(run_ids),
            MatchGroup.status == GroupStatus.MATCHED,
            MatchGroup.writeoff_amount.is_not(None),
        )
        .group_by(MatchGroup.run_id, MatchGroup.currency)
    )
    return [(run_id, currency, amount or Decimal(0)) for run_id, currency, amount in session.execute(stmt)]


def group_counts(session: Session, run_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """{run_id: {status: groups}}"""
    counts: dict[str, dict[str, int]] = {r: {} for r in run_ids}
    if not run_ids:
        return counts
    stmt = (
        select(MatchGroup.run_id, MatchGroup.status, func.count())
        .where(MatchGroup.run_id.in_(run_ids))
        .group_by(MatchGroup.run_id, MatchGroup.status)
    )
    for run_id, status, n in session.execute(stmt).tuples():
        counts[run_id][status] = int(n)
    return counts


def _bucket_sums(opened: ColumnElement[Any], edges: Sequence[dt.datetime]) -> list[Any]:
    """SUM(CASE ...) per age bucket; `edges` are the start instants of the 0-1, 2-7 and 8-30 day buckets."""
    day1, day7, day30 = edges
    conditions = [
        opened >= day1,
        and_(opened >= day7, opened < day1),
        and_(opened >= day30, opened < day7),
        opened < day30,
    ]
    return [func.sum(case((condition, 1), else_=0)) for condition in conditions]


def exceptions_by_owner_and_age(
    session: Session, run_ids: Sequence[str], edges: Sequence[dt.datetime]
) -> tuple[dict[str | None, list[int]], int, int]:
    """({assignee_id: [bucket counts]}, unmatched records, break groups) over the given runs. An exception
    without opened_at counts from its run's creation."""
    owners: dict[str | None, list[int]] = {}
    totals = []
    if not run_ids:
        return owners, 0, 0
    for model, condition in (
        (RunItem, RunItem.state == ItemState.UNMATCHED),
        (MatchGroup, MatchGroup.status == GroupStatus.BREAK),
    ):
        opened = func.coalesce(model.opened_at, Run.created_at)
        stmt = (
            select(model.assignee_id, *_bucket_sums(opened, edges))
            .join(Run, Run.id == model.run_id)
            .where(model.run_id.in_(run_ids), condition)
            .group_by(model.assignee_id)
        )
        total = 0
        for assignee_id, *buckets in session.execute(stmt).tuples():
            counts = owners.setdefault(assignee_id, [0, 0, 0, 0])
            for i, n in enumerate(buckets):
                counts[i] += int(n or 0)
                total += int(n or 0)
        totals.append(total)
    return owners, totals[0], totals[1]


def user_names(session: Session, user_ids: Sequence[str]) -> dict[str, str]:
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.full_name, User.email).where(User.id.in_(user_ids))).tuples()
    return {uid: full_name or email for uid, full_name, email in rows}
