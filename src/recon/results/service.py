"""Reading a run's results on behalf of a project member. No writes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from recon.auth.dependencies import ProjectAccess
from recon.core.errors import Conflict, NotFound
from recon.core.pagination import Page, PageParams
from recon.core.time import utcnow
from recon.models.runs import MatchGroup, Run, RunItem, RunStatus
from recon.results.repository import GroupFilters, ItemFilters, ResultsRepository
from recon.results.schemas import GroupOut, GroupSort, ItemOut, ItemSort
from recon.runs.repository import RunRepository


def age_days(opened_at: dt.datetime | None, today: dt.date) -> int | None:
    return None if opened_at is None else (today - opened_at.astimezone(dt.UTC).date()).days


def item_out(item: RunItem, today: dt.date) -> ItemOut:
    return ItemOut(
        id=item.id,
        run_id=item.run_id,
        side=item.side,
        row_no=item.row_no,
        ext_id=item.ext_id,
        date=item.date,
        amount=item.amount,
        currency=item.currency,
        reference=item.reference,
        counterparty=item.counterparty,
        description=item.description,
        state=item.state,
        reason=item.reason,
        detail=item.detail,
        group_id=item.group_id,
        assignee_id=item.assignee_id,
        opened_at=item.opened_at,
        age_days=age_days(item.opened_at, today),
        version=item.version,
    )


def group_out(group: MatchGroup, members: list[RunItem], today: dt.date) -> GroupOut:
    return GroupOut(
        id=group.id,
        run_id=group.run_id,
        seq=group.seq,
        pass_name=group.pass_name,
        kind=group.kind,
        origin=group.origin,
        status=group.status,
        score=group.score,
        explanation=group.explanation,
        left_count=group.left_count,
        right_count=group.right_count,
        left_total=group.left_total,
        right_total=group.right_total,
        difference=group.difference,
        writeoff_amount=group.writeoff_amount,
        writeoff_reason=group.writeoff_reason,
        assignee_id=group.assignee_id,
        opened_at=group.opened_at,
        closed_at=group.closed_at,
        age_days=age_days(group.opened_at, today) if group.closed_at is None else None,
        version=group.version,
        members=[item_out(m, today) for m in members],
    )


class ResultsService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.results = ResultsRepository(session)

    def _run(self, access: ProjectAccess, run_id: str) -> Run:
        run = RunRepository(self.session).get_in_project_or_404(access.project.id, run_id)
        if run.status != RunStatus.SUCCEEDED.value:
            raise Conflict(f"run {run.id} is {run.status}; results exist once it has succeeded")
        return run

    def groups(
        self, access: ProjectAccess, run_id: str, filters: GroupFilters, sort: GroupSort, params: PageParams
    ) -> Page[GroupOut]:
        run = self._run(access, run_id)
        today = utcnow().date()
        page = self.results.group_page(run.id, filters, sort, params, today)
        members = self.results.members(run.id, [g.id for g in page.rows])
        items = [group_out(g, members[g.id], today) for g in page.rows]
        return Page[GroupOut](items=items, next_cursor=page.next_cursor)

    def group(self, access: ProjectAccess, run_id: str, group_id: int) -> GroupOut:
        run = self._run(access, run_id)
        group = self.results.group(run.id, group_id)
        if group is None:
            raise NotFound("group not found")
        return group_out(group, self.results.members(run.id, [group.id])[group.id], utcnow().date())

    def items(
        self, access: ProjectAccess, run_id: str, filters: ItemFilters, sort: ItemSort, params: PageParams
    ) -> Page[ItemOut]:
        run = self._run(access, run_id)
        today = utcnow().date()
        page = self.results.item_page(run.id, filters, sort, params, today)
        return Page[ItemOut](items=[item_out(i, today) for i in page.rows], next_cursor=page.next_cursor)

    def item(self, access: ProjectAccess, run_id: str, item_id: int) -> ItemOut:
        run = self._run(access, run_id)
        item = self.results.item(run.id, item_id)
        if item is None:
            raise NotFound("item not found")
        return item_out(item, utcnow().date())
