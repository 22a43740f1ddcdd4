"""Review actions of makers (confirm, reject, manual match, unmatch, write-off, assign, comment) and of
checkers (approve, reject a decision). No HTTP, no commits: the request boundary commits, so each action --
its state changes, its decisions and its audit events -- is one transaction, all or nothing.

Which actions need a comment: those that change money -- manual match, unmatch and write-off (they create,
dissolve or close a difference of a match by human judgement). Confirming or rejecting the engine's
suggestion and approving may carry one; rejecting a decision must say why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from recon.audit.service import EventSpec, record_events
from recon.auth.access import ProjectAccess
from recon.core.errors import Conflict, FieldError, Forbidden, Unprocessable, or_404, problem_type
from recon.core.locks import lock_run
from recon.core.pagination import Page, PageParams
from recon.core.responses import attributes
from recon.core.time import utcnow
from recon.models import Comment, Decision, MatchGroup, ProjectMember, Role, Run, RunItem
from recon.models.review import CommentTarget, DecisionKind, DecisionStatus
from recon.models.runs import GroupKind, GroupOrigin, GroupStatus, ItemState, ReconcilingType, RunStatus
from recon.projects.schemas import ProjectSettingsView
from recon.review import repository
from recon.review.repository import (
    CommentRepository,
    DecisionFilter,
    DecisionRepository,
    group_states,
    groups_by_id,
    item_states,
    items_by_id,
    next_seq,
    run_in_project,
)
from recon.review.schemas import ActionResult, DecisionOut, GroupState, ItemStateOut, amount_text

log = structlog.get_logger("recon.review")

MONEY_KINDS = {
    DecisionKind.MANUAL_MATCH,
    DecisionKind.UNMATCH,
    DecisionKind.WRITEOFF,
    DecisionKind.RECONCILING_ITEM,
}
# Which side a reconciling item may be on: books-only items wait for the bank and the other way round.
BOOKS_TYPES = {
    ReconcilingType.DEPOSIT_IN_TRANSIT,
    ReconcilingType.OUTSTANDING_PAYMENT,
    ReconcilingType.TIMING,
}
BANK_TYPES = {ReconcilingType.BANK_ERROR, ReconcilingType.TIMING}
RUN_SIGNED_OFF = problem_type("run-signed-off")
MAKER_CHECKER = problem_type("maker-checker")

# Errors name the fields of the command as given (`groups[0].version`, `comment`; "" is the whole command),
# never where they sit in an HTTP request: the endpoints place them (`recon.core.errors.fields_under`).
FieldOf = Callable[[int, str], str]  # (index in the command's list, attribute) -> field name


def bulk_field(name: str) -> FieldOf:
    return lambda i, attr: f"{name}[{i}].{attr}"


def single_field(id_field: str, version_field: str = "version") -> FieldOf:
    return lambda _i, attr: id_field if attr == "id" else version_field


@dataclass
class Problems:
    """Per-id errors of a request: unknown ids are 422, stale versions and wrong states 409."""

    invalid: list[FieldError] = field(default_factory=list)
    conflicts: list[FieldError] = field(default_factory=list)
    stale: bool = False

    def bad(self, field_name: str, message: str) -> None:
        self.invalid.append(FieldError(field=field_name, message=message))

    def conflict(self, field_name: str, message: str, *, stale: bool = False) -> None:
        self.conflicts.append(FieldError(field=field_name, message=message))
        self.stale = self.stale or stale

    def checked(
        self,
        rows: Mapping[int, Any],
        refs: Sequence[tuple[int, int]],
        field_of: FieldOf,
        noun: str,
        run_id: str,
    ) -> Iterator[tuple[int, Any]]:
        """(index, row) of each ref that is listed once, exists in the run and carries the current version;
        the others are recorded as problems."""
        seen: set[int] = set()
        for i, (ref_id, version) in enumerate(refs):
            row = rows.get(ref_id)
            if ref_id in seen:
                self.bad(field_of(i, "id"), f"{noun} {ref_id} is listed twice")
            elif row is None:
                self.bad(field_of(i, "id"), f"{noun} {ref_id} is not a {noun} of run {run_id}")
            elif row.version != version:
                self.conflict(
                    field_of(i, "version"),
                    f"{noun} {ref_id}: version {version} is stale (now {row.version})",
                    stale=True,
                )
            else:
                yield i, row
            seen.add(ref_id)

    def raise_if_any(self, what: str) -> None:
        if self.invalid:
            raise Unprocessable(
                f"{what}: {len(self.invalid) + len(self.conflicts)} problem(s)",
                errors=self.invalid + self.conflicts,
            )
        if self.conflicts:
            kind = "version-conflict" if self.stale else "review-conflict"
            raise Conflict(
                f"{what}: {len(self.conflicts)} conflict(s); nothing was changed",
                type=problem_type(kind),
                title="Version conflict" if self.stale else "Review conflict",
                errors=self.conflicts,
            )


@dataclass
class Outcome:
    """What an action touched (the endpoint reads them back for the response)."""

    decisions: list[Decision] = field(default_factory=list)
    group_ids: set[int] = field(default_factory=set)
    item_ids: set[int] = field(default_factory=set)


def run_signed_off(run: Run) -> Conflict:
    when = run.signed_off_at.isoformat() if run.signed_off_at else "?"
    return Conflict(
        f"run {run.id} was signed off at {when}; it is frozen (an admin can reopen it)",
        type=RUN_SIGNED_OFF,
        title="Run signed off",
    )


def check_open_for_review(run: Run, doing: str) -> None:
    """409 unless the run is succeeded and not signed off (`doing`: "reviewed", "signed off")."""
    if run.signed_off_at is not None:
        raise run_signed_off(run)
    if run.status != RunStatus.SUCCEEDED:
        raise Conflict(
            f"run {run.id} is {run.status}; only a succeeded run can be {doing}",
            type=problem_type("run-not-reviewable"),
            title="Run not reviewable",
        )


def need_comment(comment: str, detail: str) -> None:
    if not comment.strip():
        raise Unprocessable(detail, errors=[FieldError(field="comment", message="a comment is required")])


def _sum(rows: Sequence[Row[Any]], side: str) -> Decimal:
    return sum((r.amount or Decimal(0) for r in rows if r.side == side), Decimal(0))


def shared_currency(currencies: Sequence[str | None]) -> str | None:
    """The one currency of some records (None when they have none or several)."""
    found = {c for c in currencies if c}
    return found.pop() if len(found) == 1 else None


class ReviewService:
    def __init__(self, session: Session, access: ProjectAccess) -> None:
        self.session = session
        self.access = access
        self.user_id = access.user.id
        self.project_id = access.project.id
        self.settings = ProjectSettingsView.model_validate(access.project.settings or {})
        # The run the action opened: its results are read back by run (PostgreSQL: one partition, not all).
        self.run_id: str | None = None

    # -- the run ---------------------------------------------------------------------------------------------
    def open_run(self, run_id: str, *, exclusive: bool = False) -> Run:
        """The run, locked (recon.core.locks) and open for review: succeeded and not signed off. Exclusive for
        actions that number new groups; an action takes the lock it needs before anything else."""
        run = or_404(lock_run(self.session, run_id, project_id=self.project_id, exclusive=exclusive), "run")
        check_open_for_review(run, "reviewed")
        self.run_id = run.id
        return run

    def _check_reason(self, code: str | None, field_name: str) -> str:
        allowed = self.settings.writeoff_reasons
        if code is None or code not in allowed:
            raise Unprocessable(
                "unknown write-off reason" if code else "a write-off needs a reason code",
                errors=[FieldError(field=field_name, message=f"one of: {', '.join(allowed)}")],
            )
        return code

    def _new_decision(self, run: Run, kind: DecisionKind, **fields: Any) -> Decision:
        pending = self.settings.require_approval
        decision = Decision(
            run_id=run.id,
            project_id=self.project_id,
            kind=kind,
            status=DecisionStatus.PENDING_APPROVAL if pending else DecisionStatus.APPLIED,
            maker_id=self.user_id,
            decided_at=None if pending else utcnow(),
            **fields,
        )
        self.session.add(decision)
        return decision

    # -- group decisions: confirm, reject, unmatch, write-off of breaks --------------------------------------
    def decide_groups(
        self,
        run_id: str,
        kind: DecisionKind,
        refs: Sequence[tuple[int, int]],
        *,
        comment: str,
        reason_code: str | None = None,
        field_of: FieldOf = bulk_field("groups"),
        reason_field: str = "reason_code",
    ) -> Outcome:
        run = self.open_run(run_id)
        if kind in MONEY_KINDS:
            need_comment(comment, f"{kind} changes money: say why")
        if kind == DecisionKind.WRITEOFF or (kind == DecisionKind.CONFIRM and reason_code is not None):
            self._check_reason(reason_code, reason_field)
        rows = groups_by_id(self.session, run.id, [gid for gid, _ in refs])
        problems = Problems()
        for i, row in problems.checked(rows, refs, field_of, "group", run.id):
            if row.status not in repository.ACTS_ON[kind]:
                wanted = " or ".join(repository.ACTS_ON[kind])
                problems.conflict(field_of(i, "id"), f"group {row.id} is {row.status}; {kind} needs {wanted}")
        problems.raise_if_any(f"cannot {kind}")
        if kind == DecisionKind.CONFIRM:
            self._check_confirm_writeoff([rows[gid] for gid, _ in refs], reason_code, comment, reason_field)

        members = self._members(run.id, [gid for gid, _ in refs])
        outcome = Outcome(group_ids={gid for gid, _ in refs})
        now = utcnow()
        by_status: dict[str, list[tuple[int, int]]] = {}
        for gid, version in refs:
            row = rows[gid]
            by_status.setdefault(row.status, []).append((gid, version))
            writes_off = kind == DecisionKind.WRITEOFF or (
                kind == DecisionKind.CONFIRM and row.difference != 0
            )
            decision = self._new_decision(
                run,
                kind,
                group_id=gid,
                item_ids=members.get(gid, []),
                comment=comment,
                reason_code=reason_code if writes_off else None,
                currency=row.currency,
                left_total=row.left_total,
                right_total=row.right_total,
                difference=row.difference,
                prior={"group_status": row.status},
            )
            outcome.decisions.append(decision)
            outcome.item_ids.update(members.get(gid, []))
        for status, batch in by_status.items():
            if self.settings.require_approval:
                repository.hold(self.session, run.id, batch, status)
            else:
                chosen = [d for d in outcome.decisions if d.prior["group_status"] == status]
                repository.apply_decisions(
                    self.session, run.id, chosen, status, versions=dict(batch), now=now
                )
        self._audit_created(outcome.decisions)
        return outcome

    def _check_confirm_writeoff(
        self, rows: Sequence[Row[Any]], reason: str | None, comment: str, reason_field: str
    ) -> None:
        """A group confirmed with a non-zero difference is matched only with its difference written off in
        the same decision: a reason code (and a comment) is required. A reason on a single group without a
        difference is refused; in bulk it applies to the groups that have one."""
        differing = [r for r in rows if r.difference != 0]
        if differing and reason is None:
            shown = "; ".join(
                f"group {r.id}: difference {amount_text(r.difference, r.currency)}" for r in differing[:20]
            )
            raise Unprocessable(
                f"{shown}: a confirmed group with a difference needs a write-off in the same decision",
                errors=[
                    FieldError(
                        field=reason_field,
                        message=f"give one of: {', '.join(self.settings.writeoff_reasons)}",
                    )
                ],
            )
        if reason is not None and not differing and len(rows) == 1:
            raise Unprocessable(
                "nothing to write off: the difference is zero",
                errors=[FieldError(field=reason_field, message="the difference is zero")],
            )
        if differing:
            need_comment(comment, "a write-off changes money: say why")

    def _members(self, run_id: str, group_ids: Sequence[int]) -> dict[int, list[int]]:
        members: dict[int, list[int]] = {}
        stmt = (
            select(RunItem.group_id, RunItem.id)
            .where(RunItem.run_id == run_id, RunItem.group_id.in_(sorted(set(group_ids))))
            .order_by(RunItem.group_id, RunItem.id)
        )
        for gid, item_id in self.session.execute(stmt).tuples():
            if gid is not None:
                members.setdefault(gid, []).append(item_id)
        return members

    # -- record decisions: manual match, write-off of unmatched records --------------------------------------
    def _unmatched_rows(
        self, run: Run, refs: Sequence[tuple[int, int]], field_of: FieldOf, what: str
    ) -> list[Row[Any]]:
        rows = items_by_id(self.session, run.id, [iid for iid, _ in refs])
        problems = Problems()
        for i, row in problems.checked(rows, refs, field_of, "record", run.id):
            if row.state != ItemState.UNMATCHED or row.group_id is not None:
                problems.conflict(field_of(i, "id"), f"record {row.id} is {row.state}, not unmatched")
        problems.raise_if_any(what)
        return [rows[iid] for iid, _ in refs]

    def manual_match(
        self, run_id: str, refs: Sequence[tuple[int, int]], *, comment: str, writeoff_reason: str | None
    ) -> Outcome:
        run = self.open_run(run_id, exclusive=True)  # exclusive: the new group's number
        need_comment(comment, "a manual match changes money: say why")
        rows = self._unmatched_rows(run, refs, bulk_field("items"), "cannot match")
        problems = Problems()
        for side in ("left", "right"):
            if not any(r.side == side for r in rows):
                problems.bad("items", f"a manual match needs records of both sides; none is {side}")
        for i, row in enumerate(rows):
            if row.amount is None:
                problems.bad(f"items[{i}].id", f"record {row.id} has no amount")
        currencies = sorted({r.currency for r in rows if r.currency})
        if len(currencies) > 1:
            problems.bad("items", f"the records are in several currencies ({', '.join(currencies)})")
        problems.raise_if_any("cannot match")
        left, right = _sum(rows, "left"), _sum(rows, "right")
        difference = left - right
        currency = currencies[0] if currencies else None
        totals = ", ".join(
            f"{name} {amount_text(value, currency)}"
            for name, value in (("left total", left), ("right total", right), ("difference", difference))
        )
        if difference != 0 and writeoff_reason is None:
            raise Unprocessable(
                f"{totals}: a non-zero difference needs a write-off",
                errors=[
                    FieldError(
                        field="writeoff_reason",
                        message=f"give one of: {', '.join(self.settings.writeoff_reasons)}",
                    )
                ],
            )
        if writeoff_reason is not None:
            self._check_reason(writeoff_reason, "writeoff_reason")
            if difference == 0:
                raise Unprocessable(
                    f"{totals}: nothing to write off",
                    errors=[FieldError(field="writeoff_reason", message="the difference is zero")],
                )
        decision = self._group_of_records(
            run, DecisionKind.MANUAL_MATCH, rows, refs, comment=comment, reason=writeoff_reason
        )
        self._audit_created([decision])
        return Outcome([decision], {decision.group_id or 0}, {iid for iid, _ in refs})

    def write_off(
        self,
        run_id: str,
        *,
        groups: Sequence[tuple[int, int]],
        items: Sequence[tuple[int, int]],
        reason_code: str,
        comment: str,
        items_together: bool,
        group_field: FieldOf = bulk_field("groups"),
    ) -> Outcome:
        """Write off break groups (one decision each) and unmatched records: together in one group
        (`items_together`, the single action) or each on its own (bulk)."""
        if not groups and not items:
            raise Unprocessable(
                "nothing to write off", errors=[FieldError(field="", message="give groups or items")]
            )
        outcome = Outcome()
        # Records written off get new groups (numbers): the exclusive lock, taken before anything else.
        run = self.open_run(run_id, exclusive=bool(items))
        if groups:
            outcome = self.decide_groups(
                run_id,
                DecisionKind.WRITEOFF,
                groups,
                comment=comment,
                reason_code=reason_code,
                field_of=group_field,
            )
        if not items:
            return outcome
        need_comment(comment, "a write-off changes money: say why")
        reason = self._check_reason(reason_code, "reason_code")
        rows = self._unmatched_rows(run, items, bulk_field("items"), "cannot write off")
        batches = (
            [(rows, list(items))]
            if items_together
            else [([r], [ref]) for r, ref in zip(rows, items, strict=True)]
        )
        created = [
            self._group_of_records(
                run, DecisionKind.WRITEOFF, batch_rows, batch_refs, comment=comment, reason=reason
            )
            for batch_rows, batch_refs in batches
        ]
        self._audit_created(created)
        outcome.decisions.extend(created)
        outcome.group_ids.update(d.group_id for d in created if d.group_id is not None)
        outcome.item_ids.update(iid for iid, _ in items)
        return outcome

    def explain(
        self,
        run_id: str,
        items: Sequence[tuple[int, int]],
        reconciling_type: ReconcilingType,
        *,
        comment: str,
    ) -> Outcome:
        """Explain unmatched records as reconciling items: one decision (and one one-record group in status
        `reconciling` once in effect) per record. The type must fit the record's side (`BOOKS_TYPES`,
        `BANK_TYPES`, the bank being the run's `bank_side`); the record needs an amount."""
        run = self.open_run(run_id, exclusive=True)  # new groups' numbers
        need_comment(comment, "a reconciling item must be explained: say why it is open")
        rows = self._unmatched_rows(run, items, bulk_field("items"), "cannot explain")
        problems = Problems()
        for i, row in enumerate(rows):
            on_bank = row.side == run.bank_side
            allowed = BANK_TYPES if on_bank else BOOKS_TYPES
            if reconciling_type not in allowed:
                side = "bank" if on_bank else "books"
                kinds = ", ".join(sorted(t.value for t in allowed))
                problems.bad(
                    f"items[{i}].id",
                    f"record {row.id} is on the {side} side ({row.side}); {reconciling_type} is not a "
                    f"{side}-side reconciling item (use {kinds})",
                )
            elif row.amount is None:
                problems.bad(f"items[{i}].id", f"record {row.id} has no amount")
        problems.raise_if_any("cannot explain")
        created = [
            self._group_of_records(
                run,
                DecisionKind.RECONCILING_ITEM,
                [row],
                [ref],
                comment=comment,
                reason=None,
                reconciling_type=reconciling_type,
            )
            for row, ref in zip(rows, items, strict=True)
        ]
        self._audit_created(created)
        return Outcome(
            created, {d.group_id for d in created if d.group_id is not None}, {iid for iid, _ in items}
        )

    def _group_of_records(
        self,
        run: Run,
        kind: DecisionKind,
        rows: Sequence[Row[Any]],
        refs: Sequence[tuple[int, int]],
        *,
        comment: str,
        reason: str | None,
        reconciling_type: ReconcilingType | None = None,
    ) -> Decision:
        """A manual group of unmatched records, pending approval or in effect, and its decision."""
        pending = self.settings.require_approval
        left, right = _sum(rows, "left"), _sum(rows, "right")
        difference = left - right
        explains = kind == DecisionKind.RECONCILING_ITEM
        writes_off = not explains and (kind == DecisionKind.WRITEOFF or difference != 0)
        currency = shared_currency([r.currency for r in rows])
        effective = GroupStatus.RECONCILING if explains else GroupStatus.MATCHED
        now = utcnow()
        group = MatchGroup(
            run_id=run.id,
            seq=next_seq(self.session, run.id),
            pass_name=None,
            kind=GroupKind.MANUAL,
            origin=GroupOrigin.MANUAL,
            status=GroupStatus.PENDING_APPROVAL if pending else effective,
            explanation={"decision": kind.value, "comment": comment},
            currency=currency,
            reconciling_type=reconciling_type,
            left_count=sum(1 for r in rows if r.side == "left"),
            right_count=sum(1 for r in rows if r.side == "right"),
            left_total=left,
            right_total=right,
            difference=difference,
            writeoff_amount=difference if writes_off else None,
            writeoff_reason=reason if writes_off else None,
            closed_at=None if pending else now,
        )
        self.session.add(group)
        self.session.flush()
        state = ItemState.PENDING if pending else repository.ITEM_STATE_OF[effective]
        repository.take_unmatched(self.session, run.id, refs, group.id, state)
        if not pending and not explains:
            repository.move_members(self.session, run.id, [group.id], state, {"reason": None})
        return self._new_decision(
            run,
            kind,
            group_id=group.id,
            item_ids=[r.id for r in rows],
            comment=comment,
            reason_code=reason,
            reconciling_type=reconciling_type,
            currency=currency,
            left_total=left,
            right_total=right,
            difference=difference,
            prior={"created_group": True, "item_reasons": {str(r.id): r.reason for r in rows}},
        )

    # -- checker ---------------------------------------------------------------------------------------------
    def decision_run_id(self, decision_id: str) -> str:
        run_id = self.session.scalar(
            select(Decision.run_id).where(Decision.id == decision_id, Decision.project_id == self.project_id)
        )
        return or_404(run_id, "decision")

    def check(
        self,
        run_id: str,
        refs: Sequence[tuple[str, int | None]],
        *,
        approve: bool,
        comment: str,
        field_of: FieldOf = bulk_field("decisions"),
    ) -> Outcome:
        """Approve (the decisions take effect) or reject (everything goes back) pending decisions."""
        if not approve:
            need_comment(comment, "say why the decision is rejected")
        run = self.open_run(run_id)  # the run first, as in every action: no lock-order deadlock
        found = DecisionRepository(self.session).for_update(self.project_id, [d for d, _ in refs])
        problems = Problems()
        own: list[str] = []
        for i, (decision_id, version) in enumerate(refs):
            decision = found.get(decision_id)
            if decision is None or decision.run_id != run.id:
                problems.bad(field_of(i, "id"), f"decision {decision_id} is not a decision of run {run.id}")
            elif decision.maker_id == self.user_id:
                own.append(decision_id)
            elif decision.status != DecisionStatus.PENDING_APPROVAL:
                problems.conflict(
                    field_of(i, "id"), f"decision {decision_id} is {decision.status}, not pending"
                )
            elif version is not None and decision.version != version:
                problems.conflict(
                    field_of(i, "version"),
                    f"decision {decision_id}: version {version} is stale (now {decision.version})",
                    stale=True,
                )
        if own and not problems.invalid:
            raise Forbidden(
                f"you made {len(own)} of these decisions; another approver must check them (four eyes)",
                type=MAKER_CHECKER,
                title="Maker-checker",
                errors=[FieldError(field="decisions", message=f"your own: {d}") for d in own],
            )
        problems.raise_if_any("cannot " + ("approve" if approve else "reject"))
        decisions = [found[d] for d, _ in refs]
        now = utcnow()
        outcome = Outcome(decisions=decisions)
        pending = GroupStatus.PENDING_APPROVAL
        for kind in DecisionKind:
            of_kind = [d for d in decisions if d.kind == kind]
            if approve:
                repository.apply_decisions(self.session, run.id, of_kind, pending, versions={}, now=now)
            else:
                for decision in of_kind:
                    repository.release(self.session, run.id, decision, now)
        for decision in decisions:
            decision.status = DecisionStatus.APPROVED if approve else DecisionStatus.REJECTED
            decision.checker_id = self.user_id
            decision.checker_comment = comment or None
            decision.decided_at = now
            if decision.group_id is not None:
                outcome.group_ids.add(decision.group_id)
            outcome.item_ids.update(decision.item_ids)
        self.session.flush()
        action = "decision.approved" if approve else "decision.rejected"
        events = [
            EventSpec(action, "decision", d.id, {"run_id": d.run_id, "kind": d.kind, "comment": comment})
            for d in decisions
        ]
        record_events(self.session, events, actor_id=self.user_id, project_id=self.project_id)
        log.info(action.replace(".", "_"), run_id=run.id, decisions=len(decisions))
        return outcome

    # -- assign, comment -------------------------------------------------------------------------------------
    def assign(
        self,
        run_id: str,
        *,
        groups: Sequence[tuple[int, int]],
        items: Sequence[tuple[int, int]],
        assignee_id: str | None,
    ) -> Outcome:
        run = self.open_run(run_id)
        if not groups and not items:
            raise Unprocessable(
                "nothing to assign", errors=[FieldError(field="", message="give groups or items")]
            )
        if assignee_id is not None:
            self._check_assignee(assignee_id)
        problems = Problems()
        for name, refs, found in (
            ("groups", groups, groups_by_id(self.session, run.id, [g for g, _ in groups])),
            ("items", items, items_by_id(self.session, run.id, [i for i, _ in items])),
        ):
            seen: set[int] = set()
            for i, (rid, version) in enumerate(refs):
                row = found.get(rid)
                if rid in seen or row is None:
                    problems.bad(f"{name}[{i}].id", f"{rid} is listed twice or not in run {run.id}")
                elif row.version != version:
                    problems.conflict(
                        f"{name}[{i}].version",
                        f"{rid}: version {version} is stale (now {row.version})",
                        stale=True,
                    )
                seen.add(rid)
        problems.raise_if_any("cannot assign")
        repository.set_assignee(self.session, MatchGroup, run.id, groups, assignee_id)
        repository.set_assignee(self.session, RunItem, run.id, items, assignee_id)
        record_events(
            self.session,
            [
                EventSpec(
                    "review.assigned",
                    "run",
                    run.id,
                    {
                        "assignee_id": assignee_id,
                        "groups": [g for g, _ in groups],
                        "items": [i for i, _ in items],
                    },
                )
            ],
            actor_id=self.user_id,
            project_id=self.project_id,
        )
        return Outcome(group_ids={g for g, _ in groups}, item_ids={i for i, _ in items})

    def _check_assignee(self, user_id: str) -> None:
        role = self.session.scalar(
            select(ProjectMember.role).where(
                ProjectMember.project_id == self.project_id, ProjectMember.user_id == user_id
            )
        )
        if role is None or not role.at_least(Role.PREPARER):
            raise Unprocessable(
                "the assignee must be a member of the project with the preparer role or higher",
                errors=[FieldError(field="assignee_id", message=f"{user_id} cannot work exceptions here")],
            )

    def add_comments(
        self, run_id: str, targets: Sequence[tuple[CommentTarget, int]], text: str, *, single: bool = False
    ) -> list[Comment]:
        run = self.open_run(run_id)
        groups = groups_by_id(self.session, run.id, [t for k, t in targets if k == CommentTarget.GROUP])
        items = items_by_id(self.session, run.id, [t for k, t in targets if k == CommentTarget.ITEM])
        problems = Problems()
        for i, (kind, target_id) in enumerate(targets):
            if target_id not in (groups if kind == CommentTarget.GROUP else items):
                where = "target_id" if single else f"targets[{i}].target_id"
                problems.bad(where, f"{kind} {target_id} is not in run {run.id}")
        problems.raise_if_any("cannot comment")
        comments = [
            Comment(run_id=run.id, target=kind, target_id=target_id, author_id=self.user_id, text=text)
            for kind, target_id in targets
        ]
        self.session.add_all(comments)
        self.session.flush()
        record_events(
            self.session,
            [
                EventSpec(
                    "review.commented",
                    "comment",
                    c.id,
                    {"run_id": run.id, "target": c.target, "target_id": c.target_id, "text": text},
                )
                for c in comments
            ],
            actor_id=self.user_id,
            project_id=self.project_id,
        )
        return comments

    # -- reading ---------------------------------------------------------------------------------------------
    def result(self, outcome: Outcome) -> ActionResult:
        """What an action touched, as it is now: its decisions and the groups' and records' new state."""
        self.session.flush()
        for decision in outcome.decisions:
            self.session.refresh(decision)  # server-side values (timestamps, version) after the UPDATEs
        return ActionResult(
            decisions=[DecisionOut.model_validate(d) for d in outcome.decisions],
            groups=[
                GroupState.model_validate(r._asdict())
                for r in group_states(self.session, outcome.group_ids, self.run_id)
            ],
            items=[
                ItemStateOut.model_validate(r._asdict())
                for r in item_states(self.session, outcome.item_ids, self.run_id)
            ],
        )

    def comments(
        self, run_id: str, params: PageParams, target: CommentTarget | None, target_id: int | None
    ) -> Page[Comment]:
        run = run_in_project(self.session, self.project_id, run_id)
        return CommentRepository(self.session).page_for_run(run, params, target, target_id)

    def decisions(
        self,
        params: PageParams,
        status: DecisionStatus | None,
        kind: DecisionKind | None,
        *,
        maker_id: str | None,
        run_id: str | None,
    ) -> Page[Decision]:
        """The project's decisions, newest first."""
        filters = DecisionFilter(status=status, kind=kind, maker_id=maker_id, run_id=run_id)
        return DecisionRepository(self.session).page_for_project(self.project_id, filters, params)

    def decision(self, decision_id: str) -> Decision:
        return DecisionRepository(self.session).get_in_project_or_404(self.project_id, decision_id)

    # -- audit -----------------------------------------------------------------------------------------------
    def _audit_created(self, decisions: Sequence[Decision]) -> None:
        if not decisions:
            return
        self.session.flush()  # ids and timestamps
        events = [EventSpec("decision.created", "decision", d.id, decision_audit_data(d)) for d in decisions]
        record_events(self.session, events, actor_id=self.user_id, project_id=self.project_id)
        log.info(
            "decisions_created", kind=decisions[0].kind, count=len(decisions), status=decisions[0].status
        )


# The decision's own fields in its audit data, in this order; the amounts follow as exact text.
_AUDITED = "run_id kind status group_id item_ids comment reason_code reconciling_type currency".split()  # noqa: SIM905


def decision_audit_data(decision: Decision) -> dict[str, Any]:
    return {
        **attributes(decision, *_AUDITED),
        "left_total": _audit_amount(decision.left_total, decision.currency),
        "right_total": _audit_amount(decision.right_total, decision.currency),
        "difference": _audit_amount(decision.difference, decision.currency),
    }


def _audit_amount(value: Decimal | None, currency: str | None) -> str | None:
    return None if value is None else amount_text(value, currency)
