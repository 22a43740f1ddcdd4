"""Queries of the sign-off and the statement: what is still open, totals by category, period and write-off
reason, the reconciling items and who made decisions (a run's results, read; exact Decimal sums)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from recon.models import Decision, MatchGroup, RunItem
from recon.models.datasets import RECORD_FIELDS
from recon.models.review import DecisionKind, DecisionStatus
from recon.models.runs import ITEM_GROUP_JOIN, GroupStatus, ItemState
from recon.models.types import money_sum


@dataclass(frozen=True)
class OpenCounts:
    unmatched_items: int
    breaks: int
    suggested_groups: int
    pending_decisions: int


def open_counts(session: Session, run_id: str) -> OpenCounts:
    def count(model: type[RunItem] | type[MatchGroup] | type[Decision], condition: Any) -> int:
        stmt = select(func.count()).select_from(model).where(model.run_id == run_id, condition)
        return int(session.scalar(stmt) or 0)

    return OpenCounts(
        unmatched_items=count(RunItem, RunItem.state == ItemState.UNMATCHED),
        breaks=count(MatchGroup, MatchGroup.status == GroupStatus.BREAK),
        suggested_groups=count(MatchGroup, MatchGroup.status == GroupStatus.SUGGESTED),
        pending_decisions=count(Decision, Decision.status == DecisionStatus.PENDING_APPROVAL),
    )


def item_category() -> Any:
    """An item's category in totals: its state, except that the records of a one-sided matched group
    (written off on their own: no partner) are `written_off`, apart from the matched ones."""
    one_sided = and_(
        RunItem.state == ItemState.MATCHED,
        or_(MatchGroup.left_count == 0, MatchGroup.right_count == 0),
    )
    return case((one_sided, literal("written_off")), else_=RunItem.state)


def category_totals(session: Session, run_id: str) -> list[tuple[str | None, str, str, int, Decimal]]:
    """(currency, side, category, records, exact amount) over the run's records."""
    category = item_category().label("category")
    rows = session.execute(
        select(RunItem.currency, RunItem.side, category, func.count(), money_sum(RunItem.amount))
        .select_from(RunItem)
        .outerjoin(MatchGroup, ITEM_GROUP_JOIN)
        .where(RunItem.run_id == run_id)
        .group_by(RunItem.currency, RunItem.side, category)
    ).all()
    return [(c, side, cat, int(n), amount or Decimal(0)) for c, side, cat, n, amount in rows]


def period_totals(session: Session, run_id: str) -> list[tuple[str | None, str, bool, Decimal]]:
    """(currency, side, carried, exact amount): the period's own records and the carried-in ones."""
    carried = RunItem.carried_from_id.is_not(None).label("carried")
    rows = session.execute(
        select(RunItem.currency, RunItem.side, carried, money_sum(RunItem.amount))
        .where(RunItem.run_id == run_id)
        .group_by(RunItem.currency, RunItem.side, carried)
    ).all()
    return [(c, side, bool(flag), amount or Decimal(0)) for c, side, flag, amount in rows]


def writeoff_totals(session: Session, run_id: str) -> list[tuple[str | None, str | None, int, Decimal]]:
    """(currency, reason, groups, exact written-off amount) of the matched groups with a write-off."""
    rows = session.execute(
        select(
            MatchGroup.currency,
            MatchGroup.writeoff_reason,
            func.count(),
            money_sum(MatchGroup.writeoff_amount),
        )
        .where(
            MatchGroup.run_id == run_id,
            MatchGroup.status == GroupStatus.MATCHED,
            MatchGroup.writeoff_amount.is_not(None),
        )
        .group_by(MatchGroup.currency, MatchGroup.writeoff_reason)
        .order_by(MatchGroup.writeoff_reason)
    ).all()
    return [(c, reason, int(n), amount or Decimal(0)) for c, reason, n, amount in rows]


def reconciling_items(session: Session, run_id: str) -> list[Any]:
    """The run's reconciling items (state reconciling), their type and the decision that explained them."""
    return list(
        session.execute(
            select(
                RunItem.id,
                RunItem.side,
                RunItem.row_no,
                *(getattr(RunItem, name) for name in RECORD_FIELDS),
                RunItem.opened_at,
                RunItem.carried_from_id,
                MatchGroup.reconciling_type,
                Decision.comment,
                Decision.maker_id,
                Decision.checker_id,
            )
            .join(MatchGroup, ITEM_GROUP_JOIN)
            .outerjoin(
                Decision,
                and_(
                    Decision.group_id == MatchGroup.id,
                    Decision.kind == DecisionKind.RECONCILING_ITEM,
                    Decision.status.in_([DecisionStatus.APPROVED, DecisionStatus.APPLIED]),
                ),
            )
            .where(RunItem.run_id == run_id, RunItem.state == ItemState.RECONCILING)
            .order_by(MatchGroup.reconciling_type, RunItem.side, RunItem.id)
        ).all()
    )


def makers(session: Session, run_id: str) -> set[str]:
    """Users who made any manual decision of the run (whatever became of it)."""
    stmt = (
        select(Decision.maker_id).where(Decision.run_id == run_id, Decision.maker_id.is_not(None)).distinct()
    )
    return {m for m in session.scalars(stmt) if m is not None}
