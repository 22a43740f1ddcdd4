"""Reading a run's results on behalf of a project member. No writes."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from pydantic_core import to_json
from sqlalchemy.orm import Session

from recon.auth.access import ProjectAccess
from recon.core.errors import Conflict, NotFound
from recon.core.money import render_amount, render_stored_amount
from recon.core.pagination import PageParams
from recon.core.time import utcnow
from recon.models.runs import GroupStatus, RunStatus, Side
from recon.results.repository import (
    GROUP_FIELDS,
    GROUP_ID,
    GROUP_MONEY,
    ITEM_FIELDS,
    GroupFilters,
    ItemFilters,
    ResultsRepository,
    stored_utc,
)
from recon.results.schemas import (
    GroupOut,
    GroupSort,
    GroupTotals,
    GroupTotalsRow,
    ItemOut,
    ItemSort,
    ItemTotals,
    ItemTotalsRow,
    TabCounts,
)
from recon.runs.repository import RunRepository


# A page of 1000 groups renders ~5000 amounts and ~3000 ages, most of them repeated (a group's totals are its
# members' amounts, its difference is mostly zero, a run's exceptions open at its time): cached, rendering
# was the largest cost of a 1000-group page (docs/adr/0026-lists-at-index-speed.md). Pure functions of
# their arguments; bounded caches.
@lru_cache(maxsize=16_384)
def age_days(opened_at: dt.datetime | None, today: dt.date) -> int | None:
    return None if opened_at is None else (today - opened_at.astimezone(dt.UTC).date()).days


@lru_cache(maxsize=65_536)
def _money(value: object, currency: str | None) -> str | None:
    """A money column read raw (results.repository GROUP_MONEY / ITEM_MONEY) as the API shows it."""
    return None if value is None else render_stored_amount(value, currency)


@lru_cache(maxsize=16_384)
def _opened(value: object, today: dt.date) -> tuple[dt.datetime | None, int | None]:
    """An opened_at as the driver returns it: (aware UTC, age in days)."""
    opened_at = stored_utc(value)
    return opened_at, age_days(opened_at, today)


def item_dict(row: Sequence[Any], today: dt.date) -> dict[str, Any]:
    """An item as the API shows it (the fields of ItemOut), from a driver tuple (ITEM_FIELDS)."""
    item = dict(zip(ITEM_FIELDS, row, strict=True))
    if item["opened_at"] is None:  # matched records: most members of a page
        item["age_days"] = None
    else:
        item["opened_at"], item["age_days"] = _opened(item["opened_at"], today)
    item["amount"] = _money(item["amount"], item["currency"])
    return item


def _group_fields(
    row: Sequence[Any], members: list[tuple[Any, ...]], today: dt.date
) -> tuple[dict[str, Any], str]:
    """A group's fields as the API shows them, but the explanation, which comes back as its JSON text."""
    group = dict(zip(GROUP_FIELDS, row, strict=True))
    explanation: str = group.pop("explanation")
    currency = group["currency"]
    for name in GROUP_MONEY:
        group[name] = _money(group[name], currency)
    opened_at, age = _opened(group["opened_at"], today)
    group["opened_at"] = opened_at
    if group["closed_at"] is not None:
        group["closed_at"], age = stored_utc(group["closed_at"]), None
    group["age_days"] = age
    group["members"] = [item_dict(m, today) for m in members]
    return group, explanation


def group_dict(row: Sequence[Any], members: list[tuple[Any, ...]], today: dt.date) -> dict[str, Any]:
    """A group as the API shows it (the fields of GroupOut) with its members."""
    group, explanation = _group_fields(row, members, today)
    group["explanation"] = json.loads(explanation)
    return group


def page_json(items: list[dict[str, Any]], next_cursor: str | None) -> bytes:
    """A list page as JSON bytes, serialised like the response models (decimals and times as strings)."""
    return to_json({"items": items, "next_cursor": next_cursor})


# A page of groups is serialised in one call with a placeholder where each explanation goes, then the stored
# explanation texts are put in its place: one serialisation instead of one per group (~1000 calls of a
# 1000-group page). The placeholder is a NUL and a random token: never in the data; if it were, the page is
# built group by group (the output is the same).
_SLOT = "\x00explanation-" + uuid.uuid4().hex
_SLOT_JSON = to_json(_SLOT)


def group_page_json(
    rows: list[tuple[Any, ...]],
    members: dict[int, list[tuple[Any, ...]]],
    today: dt.date,
    next_cursor: str | None,
) -> bytes:
    """A page of groups as JSON bytes (the shape of Page[GroupOut]): serialised like `page_json` with each
    group's stored explanation text spliced in as it is (the database holds valid JSON: the engine's and the
    ORM's documents; PostgreSQL checks it on the way in)."""
    groups: list[dict[str, Any]] = []
    explanations: list[bytes] = []
    for row in rows:
        group, explanation = _group_fields(row, members[row[GROUP_ID]], today)
        group["explanation"] = _SLOT
        groups.append(group)
        explanations.append(explanation.encode())
    parts = to_json({"items": groups, "next_cursor": next_cursor}).split(_SLOT_JSON)
    if len(parts) != len(explanations) + 1:
        return _group_page_json_one_by_one(groups, explanations, next_cursor)
    out = [parts[0]]
    for text, part in zip(explanations, parts[1:], strict=True):
        out.append(text)
        out.append(part)
    return b"".join(out)


def _group_page_json_one_by_one(
    groups: list[dict[str, Any]], explanations: list[bytes], next_cursor: str | None
) -> bytes:
    parts = []
    for group, explanation in zip(groups, explanations, strict=True):
        del group["explanation"]
        body = to_json(group)  # a non-empty object: b'{...}'
        parts.append(b"".join((body[:-1], b',"explanation":', explanation, b"}")))
    return b"".join((b'{"items":[', b",".join(parts), b'],"next_cursor":', to_json(next_cursor), b"}"))


class ResultsService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.results = ResultsRepository(session)

    def _check_run(self, access: ProjectAccess, run_id: str) -> None:
        """404 unless the run is one of the project's, 409 unless it has succeeded."""
        status = RunRepository(self.session).status_in_project(access.project.id, run_id)
        if status is None:
            raise NotFound("run not found")
        if status != RunStatus.SUCCEEDED:
            raise Conflict(f"run {run_id} is {status}; results exist once it has succeeded")

    def groups(
        self, access: ProjectAccess, run_id: str, filters: GroupFilters, sort: GroupSort, params: PageParams
    ) -> bytes:
        """A page of groups with their members as JSON (the shape of Page[GroupOut])."""
        self._check_run(access, run_id)
        today = utcnow().date()
        page = self.results.group_page(run_id, filters, sort, params, today)
        members = self.results.members(run_id, [g[GROUP_ID] for g in page.items])
        return group_page_json(page.items, members, today, page.next_cursor)

    def group(self, access: ProjectAccess, run_id: str, group_id: int) -> GroupOut:
        self._check_run(access, run_id)
        group = self.results.group(run_id, group_id)
        if group is None:
            raise NotFound("group not found")
        group_id = group[GROUP_ID]
        members = self.results.members(run_id, [group_id])[group_id]
        return GroupOut.model_validate(group_dict(group, members, utcnow().date()))

    def items(
        self, access: ProjectAccess, run_id: str, filters: ItemFilters, sort: ItemSort, params: PageParams
    ) -> bytes:
        """A page of items as JSON (the shape of Page[ItemOut])."""
        self._check_run(access, run_id)
        today = utcnow().date()
        page = self.results.item_page(run_id, filters, sort, params, today)
        return page_json([item_dict(i, today) for i in page.items], page.next_cursor)

    def item(self, access: ProjectAccess, run_id: str, item_id: int) -> ItemOut:
        self._check_run(access, run_id)
        item = self.results.item(run_id, item_id)
        if item is None:
            raise NotFound("item not found")
        return ItemOut.model_validate(item_dict(item, utcnow().date()))

    def tab_counts(self, access: ProjectAccess, run_id: str) -> TabCounts:
        self._check_run(access, run_id)
        groups = self.results.status_counts(run_id)
        unmatched = self.results.unmatched_counts(run_id)
        return TabCounts(
            suggested=groups.get(GroupStatus.SUGGESTED, 0),
            breaks=groups.get(GroupStatus.BREAK, 0),
            unmatched_left=unmatched.get(Side.LEFT, 0),
            unmatched_right=unmatched.get(Side.RIGHT, 0),
            matched=groups.get(GroupStatus.MATCHED, 0),
            pending_approval=groups.get(GroupStatus.PENDING_APPROVAL, 0),
            reconciling=groups.get(GroupStatus.RECONCILING, 0),
        )

    def group_totals(self, access: ProjectAccess, run_id: str, filters: GroupFilters) -> GroupTotals:
        self._check_run(access, run_id)
        rows = self.results.group_totals(run_id, filters, utcnow().date())
        return GroupTotals(
            groups=sum(n for _, n, _, _, _ in rows),
            currencies=[
                GroupTotalsRow(
                    currency=currency,
                    groups=n,
                    left_total=render_amount(left, currency),
                    right_total=render_amount(right, currency),
                    difference=render_amount(diff, currency),
                )
                for currency, n, left, right, diff in sorted(rows, key=_by_currency)
            ],
        )

    def item_totals(self, access: ProjectAccess, run_id: str, filters: ItemFilters) -> ItemTotals:
        self._check_run(access, run_id)
        rows = self.results.item_totals(run_id, filters, utcnow().date())
        return ItemTotals(
            records=sum(n for _, n, _ in rows),
            currencies=[
                ItemTotalsRow(currency=currency, records=n, amount=render_amount(amount, currency))
                for currency, n, amount in sorted(rows, key=_by_currency)
            ],
        )


def _by_currency(row: tuple[Any, ...]) -> tuple[bool, str]:
    return (row[0] is None, row[0] or "")
