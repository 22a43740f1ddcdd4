"""State transitions of groups and records, as UPDATEs conditional on what the caller saw.

Every statement names the state (and, for the groups or records the client addressed, the `version`) it
expects and bumps `version`; when fewer rows match than expected, someone else got there first and the
whole transaction ends in a 409. A record gets a group only while it has none (`group_id IS NULL`), so it
is never in two groups, and only records in state `unmatched` (or the members of a group in the expected
status) can enter a decision, so none is ever held by two pending decisions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Update, func, literal, tuple_, update
from sqlalchemy.orm import Session

from recon.core.errors import Conflict, problem_type
from recon.models import MatchGroup, RunItem
from recon.models.review import Decision, DecisionKind
from recon.models.runs import GroupStatus, ItemState, UnmatchedReason
from recon.models.types import UTCDateTime

VERSION_CONFLICT = problem_type("version-conflict")

# Members of a group in this status are in this state.
ITEM_STATE_OF = {
    GroupStatus.MATCHED.value: ItemState.MATCHED.value,
    GroupStatus.SUGGESTED.value: ItemState.SUGGESTED.value,
    GroupStatus.BREAK.value: ItemState.BREAK.value,
    GroupStatus.PENDING_APPROVAL.value: ItemState.PENDING.value,
}
# Group statuses each group-based decision acts on.
ACTS_ON = {
    DecisionKind.CONFIRM: (GroupStatus.SUGGESTED.value,),
    DecisionKind.REJECT: (GroupStatus.SUGGESTED.value,),
    DecisionKind.UNMATCH: (GroupStatus.MATCHED.value, GroupStatus.BREAK.value),
    DecisionKind.WRITEOFF: (GroupStatus.BREAK.value,),
}


def concurrent_change(what: str) -> Conflict:
    return Conflict(
        f"{what} changed while this action ran (another user?); reload and retry",
        type=VERSION_CONFLICT,
        title="Version conflict",
    )


def _run(session: Session, stmt: Update) -> int:
    result = session.execute(stmt.execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


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
        moved += _run(session, stmt.where(condition).values(**values))
    if unversioned:
        moved += _run(session, stmt.where(MatchGroup.id.in_(unversioned)).values(**values))
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
    return _run(session, stmt)


def take_unmatched(
    session: Session, run_id: str, refs: Sequence[tuple[int, int]], group_id: int, state: str
) -> None:
    """Unmatched, group-less records (id, version) into `group_id` with `state`; all of them or 409."""
    stmt = (
        update(RunItem)
        .where(
            RunItem.run_id == run_id,
            tuple_(RunItem.id, RunItem.version).in_(list(refs)),
            RunItem.state == ItemState.UNMATCHED.value,
            RunItem.group_id.is_(None),
        )
        .values(state=state, group_id=group_id, version=RunItem.version + 1)
    )
    if _run(session, stmt) != len(refs):
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
    if _run(session, stmt) != len(refs):
        raise concurrent_change("a group" if model is MatchGroup else "a record")


# -- effects of decisions ------------------------------------------------------------------------------------
def _back_to_unmatched(reason: str, now: dt.datetime) -> dict[str, Any]:
    # An exception's age runs from when it first became one.
    return {
        "state": ItemState.UNMATCHED.value,
        "group_id": None,
        "reason": reason,
        "opened_at": func.coalesce(RunItem.opened_at, _ts(now)),
    }


def effect(
    kind: DecisionKind, created_group: bool, now: dt.datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(group values, member values) when a decision takes effect."""
    matched_items = {"state": ItemState.MATCHED.value, "reason": None}
    if kind in (DecisionKind.CONFIRM, DecisionKind.MANUAL_MATCH):
        return {"status": GroupStatus.MATCHED.value, "closed_at": now}, matched_items
    if kind == DecisionKind.WRITEOFF:
        group: dict[str, Any] = {"status": GroupStatus.MATCHED.value, "closed_at": now}
        if not created_group:  # a break: its difference is what is written off
            group["writeoff_amount"] = MatchGroup.difference
        return group, matched_items
    if kind == DecisionKind.REJECT:
        return (
            {"status": GroupStatus.REJECTED.value, "closed_at": now},
            _back_to_unmatched(UnmatchedReason.REJECTED_SUGGESTION.value, now),
        )
    return (
        {"status": GroupStatus.UNMATCHED.value, "closed_at": now},
        _back_to_unmatched(UnmatchedReason.UNMATCHED_MANUALLY.value, now),
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
    for decision in decisions:  # write-offs of breaks carry their reason code onto the group
        by_reason.setdefault(decision.reason_code, []).append(decision)
    for reason, batch in by_reason.items():
        created = [d for d in batch if d.prior.get("created_group")]
        existing = [d for d in batch if not d.prior.get("created_group")]
        for part, is_created in ((created, True), (existing, False)):
            group_ids = [d.group_id for d in part if d.group_id is not None]
            if not group_ids:
                continue
            group_values, item_values = effect(kind, is_created, now)
            if kind == DecisionKind.WRITEOFF:
                group_values["writeoff_reason"] = reason
            move_groups(session, run_id, [(g, versions.get(g)) for g in group_ids], from_status, group_values)
            move_members(session, run_id, group_ids, ITEM_STATE_OF[from_status], item_values)


def hold(session: Session, run_id: str, refs: Sequence[tuple[int, int]], from_status: str) -> None:
    """Groups (and their records) held by new decisions awaiting approval."""
    move_groups(session, run_id, refs, from_status, {"status": GroupStatus.PENDING_APPROVAL.value})
    move_members(
        session,
        run_id,
        [gid for gid, _ in refs],
        ITEM_STATE_OF[from_status],
        {"state": ItemState.PENDING.value},
    )


def release(session: Session, run_id: str, decision: Decision, now: dt.datetime) -> None:
    """A rejected decision: everything back as it was before the maker acted."""
    if decision.group_id is None:
        return
    pending = GroupStatus.PENDING_APPROVAL.value
    gid = decision.group_id
    if not decision.prior.get("created_group"):
        before = str(decision.prior["group_status"])
        move_groups(session, run_id, [(gid, None)], pending, {"status": before})
        move_members(session, run_id, [gid], ItemState.PENDING.value, {"state": ITEM_STATE_OF[before]})
        return
    # A group the maker created: dissolved, its records unmatched again with their earlier reasons.
    move_groups(
        session, run_id, [(gid, None)], pending, {"status": GroupStatus.REJECTED.value, "closed_at": now}
    )
    reasons: dict[str | None, list[int]] = {}
    for item_id, reason in dict(decision.prior.get("item_reasons", {})).items():
        reasons.setdefault(reason, []).append(int(item_id))
    for reason, ids in reasons.items():
        stmt = (
            update(RunItem)
            .where(RunItem.run_id == run_id, RunItem.group_id == gid, RunItem.id.in_(ids))
            .values(
                state=ItemState.UNMATCHED.value, group_id=None, reason=reason, version=RunItem.version + 1
            )
        )
        _run(session, stmt)
