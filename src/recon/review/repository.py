"""Review queries: the run lock, groups and records by id, decisions, comments (scoped to run/project)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from recon.core.errors import NotFound
from recon.core.pagination import Page, PageParams, SortKey, keyset_page
from recon.core.repository import Repository
from recon.models import Comment, Decision, MatchGroup, Run, RunItem
from recon.models.review import CommentTarget, DecisionStatus
from recon.models.runs import GroupStatus, ItemState
from recon.review.schemas import amount_text

GROUP_COLUMNS = (
    MatchGroup.id,
    MatchGroup.seq,
    MatchGroup.status,
    MatchGroup.version,
    MatchGroup.left_total,
    MatchGroup.right_total,
    MatchGroup.difference,
    MatchGroup.writeoff_amount,
    MatchGroup.writeoff_reason,
    MatchGroup.assignee_id,
    MatchGroup.left_count,
    MatchGroup.right_count,
)
ITEM_COLUMNS = (
    RunItem.id,
    RunItem.side,
    RunItem.state,
    RunItem.reason,
    RunItem.group_id,
    RunItem.assignee_id,
    RunItem.version,
    RunItem.amount,
    RunItem.currency,
)


def lock_run(session: Session, project_id: str, run_id: str, *, exclusive: bool = False) -> Run:
    """The run, locked until the transaction ends: shared for review actions (they may run side by side),
    exclusive for sign-off, reopen and manual groups (their `seq`). Sign-off therefore never counts open
    exceptions while an action is half-way. SQLite has one writer at a time: taking its write lock first
    serialises the whole action and makes every read after it current."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("UPDATE runs SET id = id WHERE 1 = 0"))
    stmt = (
        select(Run)
        .where(Run.id == run_id, Run.project_id == project_id)
        .with_for_update(read=not exclusive)
        .execution_options(populate_existing=True)
    )
    run = session.scalar(stmt)
    if run is None:
        raise NotFound("run not found")
    return run


def groups_by_id(session: Session, run_id: str, ids: Iterable[int]) -> dict[int, Any]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(*GROUP_COLUMNS).where(MatchGroup.run_id == run_id, MatchGroup.id.in_(wanted))
    ).all()
    return {row.id: row for row in rows}


def items_by_id(session: Session, run_id: str, ids: Iterable[int]) -> dict[int, Any]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(*ITEM_COLUMNS).where(RunItem.run_id == run_id, RunItem.id.in_(wanted))
    ).all()
    return {row.id: row for row in rows}


def member_ids(session: Session, run_id: str, group_id: int) -> list[int]:
    stmt = (
        select(RunItem.id).where(RunItem.run_id == run_id, RunItem.group_id == group_id).order_by(RunItem.id)
    )
    return list(session.scalars(stmt))


def next_seq(session: Session, run_id: str) -> int:
    """The next group number of the run (call under the exclusive run lock)."""
    current = session.scalar(select(func.max(MatchGroup.seq)).where(MatchGroup.run_id == run_id))
    return int(current or 0) + 1


@dataclass(frozen=True)
class OpenCounts:
    unmatched_items: int
    breaks: int
    suggested_groups: int
    pending_decisions: int


def open_counts(session: Session, run_id: str) -> OpenCounts:
    def count(stmt: Any) -> int:
        return int(session.scalar(stmt) or 0)

    return OpenCounts(
        unmatched_items=count(
            select(func.count())
            .select_from(RunItem)
            .where(RunItem.run_id == run_id, RunItem.state == ItemState.UNMATCHED.value)
        ),
        breaks=count(
            select(func.count())
            .select_from(MatchGroup)
            .where(MatchGroup.run_id == run_id, MatchGroup.status == GroupStatus.BREAK.value)
        ),
        suggested_groups=count(
            select(func.count())
            .select_from(MatchGroup)
            .where(MatchGroup.run_id == run_id, MatchGroup.status == GroupStatus.SUGGESTED.value)
        ),
        pending_decisions=count(
            select(func.count())
            .select_from(Decision)
            .where(Decision.run_id == run_id, Decision.status == DecisionStatus.PENDING_APPROVAL.value)
        ),
    )


def as_decimal(value: Any) -> Decimal:
    """A SQL SUM of money: Decimal on PostgreSQL, float on SQLite (whose money is 15 significant digits)."""
    if value is None:
        return Decimal(0)
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def control_totals(session: Session, run_id: str) -> dict[str, Any]:
    """{side: {state: {"records": n, "amount": "sum"}}} over the run's records."""
    rows = session.execute(
        select(RunItem.side, RunItem.state, func.count(), func.sum(RunItem.amount))
        .where(RunItem.run_id == run_id)
        .group_by(RunItem.side, RunItem.state)
        .order_by(RunItem.side, RunItem.state)
    ).all()
    totals: dict[str, Any] = {}
    for side, state, records, amount in rows:
        total = amount_text(as_decimal(amount))
        totals.setdefault(side, {})[state] = {"records": int(records), "amount": total}
    return totals


@dataclass(frozen=True)
class DecisionFilter:
    status: str | None = None
    kind: str | None = None
    maker_id: str | None = None
    run_id: str | None = None


class DecisionRepository(Repository[Decision]):
    model = Decision
    noun = "decision"

    def page_for_project(self, project_id: str, f: DecisionFilter, params: PageParams) -> Page[Decision]:
        stmt = select(Decision).where(Decision.project_id == project_id)
        if f.status is not None:
            stmt = stmt.where(Decision.status == f.status)
        if f.kind is not None:
            stmt = stmt.where(Decision.kind == f.kind)
        if f.maker_id is not None:
            stmt = stmt.where(Decision.maker_id == f.maker_id)
        if f.run_id is not None:
            stmt = stmt.where(Decision.run_id == f.run_id)
        keys = [SortKey(Decision.created_at, descending=True), SortKey(Decision.id, descending=True)]
        return self.page(stmt, keys, params)

    def for_update(self, project_id: str, ids: Iterable[str]) -> dict[str, Decision]:
        """Decisions of the project, row-locked (PostgreSQL) and read afresh: a concurrent approve/reject
        of the same decision waits here and then sees the outcome."""
        wanted = sorted(set(ids))
        stmt = (
            select(Decision)
            .where(Decision.project_id == project_id, Decision.id.in_(wanted))
            .order_by(Decision.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return {d.id: d for d in self.session.scalars(stmt)}


class CommentRepository(Repository[Comment]):
    model = Comment
    noun = "comment"

    def page_for_run(
        self,
        run_id: str,
        params: PageParams,
        target: CommentTarget | None = None,
        target_id: int | None = None,
    ) -> Page[Comment]:
        stmt = select(Comment).where(Comment.run_id == run_id)
        if target is not None:
            stmt = stmt.where(Comment.target == target.value)
        if target_id is not None:
            stmt = stmt.where(Comment.target_id == target_id)
        return keyset_page(self.session, stmt, [SortKey(Comment.created_at), SortKey(Comment.id)], params)
