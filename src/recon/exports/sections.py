"""The sections of an export: their columns, their SQL, and their rows streamed in chunks.

Rows come from one SELECT per section read with `yield_per` (a server-side cursor on PostgreSQL, chunked
fetches on SQLite), so a million-row run is never in memory at once. Every ordering is total (it ends with a
primary key), so the same results export to the same rows in the same order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session, aliased

from recon.exports.cells import Amount
from recon.models import AuditEvent, Decision, GroupStatus, ItemState, MatchGroup, RunItem, User
from recon.models.datasets import RECORD_FIELDS
from recon.models.exports import ExportWhat
from recon.models.review import DecisionKind, DecisionStatus
from recon.models.runs import ITEM_GROUP_JOIN

CHUNK_ROWS = 5000
RowsSelect = Select[*tuple[Any, ...]]
# Groups whose members went back to unmatched are not groups any more.
DISSOLVED = (GroupStatus.REJECTED, GroupStatus.UNMATCHED)
OPEN_STATES = (ItemState.UNMATCHED, ItemState.RECONCILING)

# A record as it stands in every section: its side and place in the input, then its own fields.
RECORD_COLUMNS = ("side", "row_no", *RECORD_FIELDS)
# The RunItem columns those are read from.
_RECORD_CELLS = tuple(getattr(RunItem, name) for name in RECORD_COLUMNS)
GROUP_COLUMNS = (
    "group_seq",
    "pass",
    "kind",
    "status",
    "score",
    *RECORD_COLUMNS,
    "difference",
    "writeoff_amount",
    "writeoff_reason",
    "reconciling_type",
    # The decision that made the group what it is (confirmed, manual match, write-off, reconciling item).
    "decision",
    "maker",
    "approver",
    "decision_comment",
    "approver_comment",
    "decided_at",
)
BREAK_COLUMNS = (*GROUP_COLUMNS, "opened_at", "age_days", "assignee")
# Open records: unmatched ones and those explained as reconciling items (carried into the next period).
UNMATCHED_COLUMNS = (
    *RECORD_COLUMNS,
    "state",
    "reason",
    "detail",
    "reconciling_type",
    "carried_from_id",
    "opened_at",
    "age_days",
    "assignee",
)
# Decisions that shape a live group (unmatch and reject dissolve theirs).
SHAPING_KINDS = (
    DecisionKind.CONFIRM,
    DecisionKind.MANUAL_MATCH,
    DecisionKind.WRITEOFF,
    DecisionKind.RECONCILING_ITEM,
)
IN_EFFECT = (DecisionStatus.APPROVED, DecisionStatus.APPLIED)
# Every field the chain hashes (plus `hash`), so an exported trail can be verified offline.
AUDIT_COLUMNS = (
    "seq",
    "occurred_at",
    "action",
    "actor_id",
    "entity_type",
    "entity_id",
    "data",
    "request_id",
    "prev_hash",
    "hash",
    "id",
    "chain",
    "org_id",
    "project_id",
)


@dataclass(frozen=True)
class Scope:
    """What an export reads: the run, its project (the audit chain) and the moment ages are counted at."""

    run_id: str
    project_id: str
    as_of: dt.datetime

    @cached_property
    def as_of_day(self) -> dt.date:
        return self.as_of.astimezone(dt.UTC).date()


@dataclass(frozen=True)
class Section:
    name: str
    columns: tuple[str, ...]
    query: Callable[[Scope], RowsSelect]
    # Turns a row of `query` into the cells, in `columns` order (e.g. computes the age).
    shape: Callable[[Scope, Sequence[Any]], tuple[Any, ...]]

    def count(self, session: Session, scope: Scope) -> int:
        subquery = self.query(scope).order_by(None).subquery()
        return int(session.scalar(select(func.count()).select_from(subquery)) or 0)

    def rows(self, session: Session, scope: Scope, chunk_rows: int = CHUNK_ROWS) -> Iterator[tuple[Any, ...]]:
        # Core execution (no ORM row loading) with a server-side cursor fetching `chunk_rows` at a time.
        stmt = self.query(scope).execution_options(stream_results=True, yield_per=chunk_rows)
        for row in session.connection().execute(stmt):
            yield self.shape(scope, row)


def age_days(opened_at: dt.datetime | None, as_of: dt.date) -> int | None:
    """Whole days an exception has been open on the UTC day `as_of` (calendar days; 0 on its first day)."""
    if opened_at is None:
        return None
    if opened_at.tzinfo is not dt.UTC:
        opened_at = opened_at.astimezone(dt.UTC)
    return max((as_of - opened_at.date()).days, 0)


def _member_columns(maker: Any, checker: Any) -> list[Any]:
    return [
        MatchGroup.seq,
        MatchGroup.pass_name,
        MatchGroup.kind,
        MatchGroup.status,
        MatchGroup.score,
        *_RECORD_CELLS,
        MatchGroup.difference,
        MatchGroup.writeoff_amount,
        MatchGroup.writeoff_reason,
        MatchGroup.reconciling_type,
        Decision.kind,
        maker.email,
        checker.email,
        Decision.comment,
        Decision.checker_comment,
        Decision.decided_at,
        MatchGroup.currency,
    ]


def _with_decisions(stmt: RowsSelect, maker: Any, checker: Any) -> RowsSelect:
    """The decision in effect that shaped each group (at most one: a group is confirmed, matched, written
    off or explained once) with its maker's and approver's emails."""
    return (
        stmt.outerjoin(
            Decision,
            and_(
                Decision.group_id == MatchGroup.id,
                Decision.kind.in_(SHAPING_KINDS),
                Decision.status.in_(IN_EFFECT),
            ),
        )
        .outerjoin(maker, maker.id == Decision.maker_id)
        .outerjoin(checker, checker.id == Decision.checker_id)
    )


def _groups_query(scope: Scope) -> RowsSelect:
    maker, checker = aliased(User), aliased(User)
    stmt = (
        select(*_member_columns(maker, checker))
        .join(MatchGroup, ITEM_GROUP_JOIN)
        .where(RunItem.run_id == scope.run_id, MatchGroup.status.not_in(DISSOLVED))
        .order_by(MatchGroup.seq, RunItem.side, RunItem.id)
    )
    return _with_decisions(stmt, maker, checker)


def _breaks_query(scope: Scope) -> RowsSelect:
    assignee, maker, checker = aliased(User), aliased(User), aliased(User)
    stmt = (
        select(*_member_columns(maker, checker), MatchGroup.opened_at, assignee.email)
        .join(MatchGroup, ITEM_GROUP_JOIN)
        .outerjoin(assignee, assignee.id == MatchGroup.assignee_id)
        .where(RunItem.run_id == scope.run_id, MatchGroup.status == GroupStatus.BREAK)
        .order_by(MatchGroup.seq, RunItem.side, RunItem.id)
    )
    return _with_decisions(stmt, maker, checker)


def _unmatched_query(scope: Scope) -> RowsSelect:
    assignee = aliased(User)
    return (
        select(
            *_RECORD_CELLS,
            RunItem.state,
            RunItem.reason,
            RunItem.detail,
            MatchGroup.reconciling_type,
            RunItem.carried_from_id,
            RunItem.opened_at,
            assignee.email,
        )
        .outerjoin(assignee, assignee.id == RunItem.assignee_id)
        .outerjoin(MatchGroup, ITEM_GROUP_JOIN)
        .where(RunItem.run_id == scope.run_id, RunItem.state.in_(OPEN_STATES))
        .order_by(RunItem.side, RunItem.id)
    )


def _audit_query(scope: Scope) -> RowsSelect:
    # The project's own chain (its events), in chain order: the export verifies like the chain does.
    return (
        select(*(AuditEvent.__table__.c[name] for name in AUDIT_COLUMNS))
        .where(AuditEvent.chain == scope.project_id)
        .order_by(AuditEvent.seq)
    )


def _plain(_scope: Scope, row: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(row)


def _money(value: Any, currency: str | None) -> Amount | None:
    return None if value is None else Amount(value, currency)


# Positions in a member row (see _member_columns): amount 9, currency 10, difference 14, write-off 15,
# the group's currency last.
_AMOUNT, _CURRENCY, _DIFFERENCE, _WRITEOFF = 9, 10, 14, 15


def _member(row: Sequence[Any]) -> list[Any]:
    """A member row with its amounts rendered in their currency (the group's for its totals)."""
    *cells, group_currency = row
    cells[_AMOUNT] = _money(cells[_AMOUNT], cells[_CURRENCY])
    cells[_DIFFERENCE] = _money(cells[_DIFFERENCE], group_currency)
    cells[_WRITEOFF] = _money(cells[_WRITEOFF], group_currency)
    return cells


def _group_row(_scope: Scope, row: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(_member(row))


def _break_row(scope: Scope, row: Sequence[Any]) -> tuple[Any, ...]:
    *member, opened_at, assignee = row
    return (*_member(member), opened_at, age_days(opened_at, scope.as_of_day), assignee)


def _open_row(scope: Scope, row: Sequence[Any]) -> tuple[Any, ...]:
    *fields, opened_at, assignee = row
    fields[4] = _money(fields[4], fields[5])  # amount in its currency
    return (*fields, opened_at, age_days(opened_at, scope.as_of_day), assignee)


SECTIONS: dict[str, Section] = {
    ExportWhat.GROUPS: Section("groups", GROUP_COLUMNS, _groups_query, _group_row),
    ExportWhat.UNMATCHED: Section("unmatched", UNMATCHED_COLUMNS, _unmatched_query, _open_row),
    ExportWhat.BREAKS: Section("breaks", BREAK_COLUMNS, _breaks_query, _break_row),
    ExportWhat.AUDIT: Section("audit", AUDIT_COLUMNS, _audit_query, _plain),
}


def sections_of(what: str) -> list[Section]:
    """The sections an export of `what` holds (`all`: every section, in a fixed order)."""
    if what == ExportWhat.ALL:
        return list(SECTIONS.values())
    return [SECTIONS[what]]
