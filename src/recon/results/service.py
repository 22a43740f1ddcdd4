"""Reading a run's results on behalf of a project member. No writes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic_core import to_json
from sqlalchemy import Row
from sqlalchemy.orm import Session

from recon.auth.dependencies import ProjectAccess
from recon.core.errors import Conflict, NotFound
from recon.core.pagination import PageParams
from recon.core.time import utcnow
from recon.models.runs import Run, RunStatus
from recon.results.repository import GroupFilters, ItemFilters, ResultsRepository
from recon.results.schemas import GroupOut, GroupSort, ItemOut, ItemSort
from recon.runs.repository import RunRepository


def age_days(opened_at: dt.datetime | None, today: dt.date) -> int | None:
    return None if opened_at is None else (today - opened_at.astimezone(dt.UTC).date()).days


def item_dict(row: Row[Any], today: dt.date) -> dict[str, Any]:
    """An item as the API shows it (the fields of ItemOut), straight from a Core row."""
    item = dict(row._mapping)
    item["age_days"] = age_days(item["opened_at"], today)
    return item


def group_dict(row: Row[Any], members: list[Row[Any]], today: dt.date) -> dict[str, Any]:
    """A group as the API shows it (the fields of GroupOut) with its members."""
    group = dict(row._mapping)
    group["age_days"] = age_days(group["opened_at"], today) if group["closed_at"] is None else None
    group["members"] = [item_dict(m, today) for m in members]
    return group


def page_json(items: list[dict[str, Any]], next_cursor: str | None) -> bytes:
    """A list page as JSON bytes, serialised like the response models (decimals and times as strings)."""
    return to_json({"items": items, "next_cursor": next_cursor})


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
    ) -> bytes:
        """A page of groups with their members as JSON (the shape of Page[GroupOut])."""
        run = self._run(access, run_id)
        today = utcnow().date()
        page = self.results.group_page(run.id, filters, sort, params, today)
        members = self.results.members(run.id, [g.id for g in page.rows])
        return page_json([group_dict(g, members[g.id], today) for g in page.rows], page.next_cursor)

    def group(self, access: ProjectAccess, run_id: str, group_id: int) -> GroupOut:
        run = self._run(access, run_id)
        group = self.results.group(run.id, group_id)
        if group is None:
            raise NotFound("group not found")
        members = self.results.members(run.id, [group.id])[group.id]
        return GroupOut.model_validate(group_dict(group, members, utcnow().date()))

    def items(
        self, access: ProjectAccess, run_id: str, filters: ItemFilters, sort: ItemSort, params: PageParams
    ) -> bytes:
        """A page of items as JSON (the shape of Page[ItemOut])."""
        run = self._run(access, run_id)
        today = utcnow().date()
        page = self.results.item_page(run.id, filters, sort, params, today)
        return page_json([item_dict(i, today) for i in page.rows], page.next_cursor)

    def item(self, access: ProjectAccess, run_id: str, item_id: int) -> ItemOut:
        run = self._run(access, run_id)
        item = self.results.item(run.id, item_id)
        if item is None:
            raise NotFound("item not found")
        return ItemOut.model_validate(item_dict(item, utcnow().date()))
