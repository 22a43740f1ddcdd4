"""Review queries and state transitions: groups and records by id, decisions, comments, statements (always
scoped to a run or project), and the conditional UPDATEs that move groups and records between states.

Transitions: every statement names the state (and, for the groups or records the client addressed, the
`version`) it expects and bumps `version`; when fewer rows match than expected, someone else got there first
and the whole transaction ends in a 409. A record gets a group only while it has none (`group_id IS NULL`),
so it is never in two groups, and only records in state `unmatched` (or the members of a group in the
expected status) can enter a decision, so none is ever held by two pending decisions. Callers hold the run
lock (`recon.core.locks.lock_run`) first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, literal, select, tuple_, update
from sqlalchemy.orm import Session

from recon.core.errors import Conflict, or_404, problem_type
from recon.core.pagination import Page, PageParams, SortKey, keyset_page
from recon.core.repository import Repository, updated_rows, where_given
from recon.models import Comment, Decision, MatchGroup, Run, RunItem, Statement
from recon.models.review import CommentTarget, DecisionKind, DecisionStatus
from recon.models.runs import GroupStatus, ItemState, UnmatchedReason
from recon.models.types import UTCDateTime

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
    MatchGroup.reconciling_type,
    MatchGroup.currency,
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


def run_in_project(session: Session, project_id: str, run_id: str) -> str:
    """The run's id when it is a run of the project, else 404."""
    return or_404(session.scalar(select(Run.id).where(Run.id == run_id, Run.project_id == project_id)), "run")


def _review_rows(
    session: Session, model: type[MatchGroup] | type[RunItem], ids: Iterable[int], run_id: str | None = None
) -> list[Any]:
    """The review columns (GROUP_COLUMNS or ITEM_COLUMNS) of these groups or records, by id (of the run)."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    columns = GROUP_COLUMNS if model is MatchGroup else ITEM_COLUMNS
    stmt = select(*columns).where(model.id.in_(wanted))
    if run_id is not None:
        stmt = stmt.where(model.run_id == run_id)
    return list(session.execute(stmt.order_by(model.id)))


def groups_by_id(session: Session, run_id: str, ids: Iterable[int]) -> dict[int, Any]:
    return {row.id: row for row in _review_rows(session, MatchGroup, ids, run_id)}


def items_by_id(session: Session, run_id: str, ids: Iterable[int]) -> dict[int, Any]:
    return {row.id: row for row in _review_rows(session, RunItem, ids, run_id)}


def group_states(session: Session, ids: Iterable[int], run_id: str | None) -> list[Any]:
    """The review columns of these groups (of the run, when given), by id."""
    return _review_rows(session, MatchGroup, ids, run_id)


def item_states(session: Session, ids: Iterable[int], run_id: str | None) -> list[Any]:
    """The review columns of these records (of the run, when given), by id."""
    return _review_rows(session, RunItem, ids, run_id)


def next_seq(session: Session, run_id: str) -> int:
    """The next group number of the run (call under the exclusive run lock)."""
    current = session.scalar(select(func.max(MatchGroup.seq)).where(MatchGroup.run_id == run_id))
    return int(current or 0) + 1


@dataclass(frozen=True)
class DecisionFilter:
    status: DecisionStatus | None = None
    kind: DecisionKind | None = None
    maker_id: str | None = None
    run_id: str | None = None


class DecisionRepository(Repository[Decision]):
    model = Decision
    noun = "decision"

    def page_for_project(self, project_id: str, f: DecisionFilter, params: PageParams) -> Page[Decision]:
        stmt = select(Decision).where(Decision.project_id == project_id)
        stmt = where_given(
            stmt,
            (Decision.status, f.status),
            (Decision.kind, f.kind),
            (Decision.maker_id, f.maker_id),
            (Decision.run_id, f.run_id),
        )
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
        stmt = where_given(
            select(Comment).where(Comment.run_id == run_id),
            (Comment.target, target),
            (Comment.target_id, target_id),
        )
        return keyset_page(self.session, stmt, [SortKey(Comment.created_at), SortKey(Comment.id)], params)


class StatementRepository(Repository[Statement]):
    model = Statement
    noun = "statement"

    def page_for_run(self, run_id: str, params: PageParams) -> Page[Statement]:
        """Newest first."""
        stmt = select(Statement).where(Statement.run_id == run_id)
        keys = [SortKey(Statement.created_at, descending=True), SortKey(Statement.id, descending=True)]
        return self.page(stmt, keys, params)

    def current_for_run(self, run_id: str) -> Statement | None:
        """The statement of the run's sign-off in force (None: not signed off, or withdrawn)."""
        return self.session.scalar(
            select(Statement)
            .where(Statement.run_id == run_id, Statement.withdrawn_at.is_(None))
            .order_by(Statement.created_at.desc(), Statement.id.desc())
            .limit(1)
        )


# -- state transitions ---------------------------------------------------------------------------------------
VERSION_CONFLICT = problem_type("version-conflict")

# Members of a group in this status are in this state.
ITEM_STATE_OF: dict[str, ItemState] = {
    GroupStatus.MATCHED: ItemState.MATCHED,
    GroupStatus.SUGGESTED: ItemState.SUGGESTED,
    GroupStatus.BREAK: ItemState.BREAK,
    GroupStatus.PENDING_APPROVAL: ItemState.PENDING,
    GroupStatus.RECONCILING: ItemState.RECONCILING,
}
# Group statuses each group-based decision acts on.
ACTS_ON: dict[DecisionKind, tuple[str, ...]] = {
    DecisionKind.CONFIRM: (GroupStatus.SUGGESTED, GroupStatus.BREAK),
    DecisionKind.REJECT: (GroupStatus.SUGGESTED,),
    DecisionKind.UNMATCH: (GroupStatus.MATCHED, GroupStatus.BREAK, GroupStatus.RECONCILING),
    DecisionKind.WRITEOFF: (GroupStatus.BREAK,),
}


def concurrent_change(what: str) -> Conflict:
    return Conflict(
        f"{what} changed while this action ran (another user?); reload and retry",
        type=VERSION_CONFLICT,
        title="Version conflict",
    )


def _ts(value: dt.datetime) -> Any:
    return literal(value, UTCDateTime())


def move_groups(
    session: Session,
    run_id: str,
    refs: Sequence[tuple[int, int | None]],
    from_status: str,
    values: Mapping[str, Any],
) -> None:
    """Groups (id, version or None) of the run from `from_status` to `values`; all of them or 409."""
    if not refs:
        return
    stmt = update(MatchGroup).where(MatchGroup.run_id == run_id, MatchGroup.status == from_status)
    versioned = [(gid, v) for gid, v in refs if v is not None]
    unversioned = [gid for gid, v in refs if v is None]
    values = {**values, "version": MatchGroup.version + 1}
    moved = 0
    if versioned:
        condition = tuple_(MatchGroup.id, MatchGroup.version).in_(versioned)
        moved += updated_rows(session, stmt.where(condition).values(**values))
    if unversioned:
        moved += updated_rows(session, stmt.where(MatchGroup.id.in_(unversioned)).values(**values))
    if moved != len(refs):
        raise concurrent_change("a group")


def move_members(
    session: Session, run_id: str, group_ids: Sequence[int], from_state: str, values: Mapping[str, Any]
) -> int:
    """The records of these groups that are in `from_state` to `values`."""
    if not group_ids:
        return 0
    stmt = (
        update(RunItem)
        .where(RunItem.run_id == run_id, RunItem.group_id.in_(group_ids), RunItem.state == from_state)
        .values(**values, version=RunItem.version + 1)
    )
    return updated_rows(session, stmt)


def take_unmatched(
    session: Session, run_id: str, refs: Sequence[tuple[int, int]], group_id: int, state: str
) -> None:
    """Unmatched, group-less records (id, version) into `group_id` with `state`; all of them or 409."""
    stmt = (
        update(RunItem)
        .where(
            RunItem.run_id == run_id,
            tuple_(RunItem.id, RunItem.version).in_(list(refs)),
            RunItem.state == ItemState.UNMATCHED,
            RunItem.group_id.is_(None),
        )
        .values(state=state, group_id=group_id, version=RunItem.version + 1)
    )
    if updated_rows(session, stmt) != len(refs):
        raise concurrent_change("a record")


def set_assignee(
    session: Session,
    model: type[MatchGroup] | type[RunItem],
    run_id: str,
    refs: Sequence[tuple[int, int]],
    assignee_id: str | None,
) -> None:
    if not refs:
        return
    stmt = (
        update(model)
        .where(model.run_id == run_id, tuple_(model.id, model.version).in_(list(refs)))
        .values(assignee_id=assignee_id, version=model.version + 1)
    )
    if updated_rows(session, stmt) != len(refs):
        raise concurrent_change("a group" if model is MatchGroup else "a record")


# -- effects of decisions ------------------------------------------------------------------------------------
def _back_to_unmatched(reason: str, now: dt.datetime) -> dict[str, Any]:
    # An exception's age runs from when it first became one.
    return {
        "state": ItemState.UNMATCHED,
        "group_id": None,
        "reason": reason,
        "opened_at": func.coalesce(RunItem.opened_at, _ts(now)),
    }


def effect(
    kind: DecisionKind, created_group: bool, now: dt.datetime, reason: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(group values, member values) when a decision takes effect. `reason`: the write-off reason of a
    write-off, or of a confirmation whose group has a difference (written off in the same decision)."""
    matched_items = {"state": ItemState.MATCHED, "reason": None}
    if kind == DecisionKind.RECONCILING_ITEM:
        explained = {"state": ItemState.RECONCILING}
        return {"status": GroupStatus.RECONCILING, "closed_at": now}, explained
    if kind == DecisionKind.MANUAL_MATCH:
        return {"status": GroupStatus.MATCHED, "closed_at": now}, matched_items
    if kind in (DecisionKind.CONFIRM, DecisionKind.WRITEOFF):
        group: dict[str, Any] = {"status": GroupStatus.MATCHED, "closed_at": now}
        if reason is not None:
            group["writeoff_reason"] = reason
            if not created_group:  # an engine group: its difference is what is written off
                group["writeoff_amount"] = MatchGroup.difference
        return group, matched_items
    if kind == DecisionKind.REJECT:
        return (
            {"status": GroupStatus.REJECTED, "closed_at": now},
            _back_to_unmatched(UnmatchedReason.REJECTED_SUGGESTION, now),
        )
    return (
        {"status": GroupStatus.UNMATCHED, "closed_at": now},
        _back_to_unmatched(UnmatchedReason.UNMATCHED_MANUALLY, now),
    )


def apply_decisions(
    session: Session,
    run_id: str,
    decisions: Sequence[Decision],
    from_status: str,
    *,
    versions: Mapping[int, int | None],
    now: dt.datetime,
) -> None:
    """Make decisions of one kind take effect on their groups, which are in `from_status` (pending_approval
    when approved, else their status when the maker acted without approval)."""
    if not decisions:
        return
    kind = DecisionKind(decisions[0].kind)
    by_reason: dict[str | None, list[Decision]] = {}
    for decision in decisions:  # write-offs (also with a confirmation) carry their reason onto the group
        by_reason.setdefault(decision.reason_code, []).append(decision)
    for reason, batch in by_reason.items():
        created = [d for d in batch if d.prior.get("created_group")]
        existing = [d for d in batch if not d.prior.get("created_group")]
        for part, is_created in ((created, True), (existing, False)):
            group_ids = [d.group_id for d in part if d.group_id is not None]
            if not group_ids:
                continue
            group_values, item_values = effect(kind, is_created, now, reason)
            move_groups(session, run_id, [(g, versions.get(g)) for g in group_ids], from_status, group_values)
            move_members(session, run_id, group_ids, ITEM_STATE_OF[from_status], item_values)


def hold(session: Session, run_id: str, refs: Sequence[tuple[int, int]], from_status: str) -> None:
    """Groups (and their records) held by new decisions awaiting approval."""
    move_groups(session, run_id, refs, from_status, {"status": GroupStatus.PENDING_APPROVAL})
    move_members(
        session,
        run_id,
        [gid for gid, _ in refs],
        ITEM_STATE_OF[from_status],
        {"state": ItemState.PENDING},
    )


def release(session: Session, run_id: str, decision: Decision, now: dt.datetime) -> None:
    """A rejected decision: everything back as it was before the maker acted."""
    if decision.group_id is None:
        return
    pending = GroupStatus.PENDING_APPROVAL
    gid = decision.group_id
    if not decision.prior.get("created_group"):
        before = str(decision.prior["group_status"])
        move_groups(session, run_id, [(gid, None)], pending, {"status": before})
        move_members(session, run_id, [gid], ItemState.PENDING, {"state": ITEM_STATE_OF[before]})
        return
    # A group the maker created: dissolved, its records unmatched again with their earlier reasons.
    move_groups(session, run_id, [(gid, None)], pending, {"status": GroupStatus.REJECTED, "closed_at": now})
    reasons: dict[str | None, list[int]] = {}
    for item_id, reason in dict(decision.prior.get("item_reasons", {})).items():
        reasons.setdefault(reason, []).append(int(item_id))
    for reason, ids in reasons.items():
        stmt = (
            update(RunItem)
            .where(RunItem.run_id == run_id, RunItem.group_id == gid, RunItem.id.in_(ids))
            .values(state=ItemState.UNMATCHED, group_id=None, reason=reason, version=RunItem.version + 1)
        )
        updated_rows(session, stmt)
