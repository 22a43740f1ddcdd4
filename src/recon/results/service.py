"""Reading a run's results on behalf of a project member. No writes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import orjson
from pydantic_core import to_json
from sqlalchemy.orm import Session

from recon.auth.access import ProjectAccess
from recon.core.errors import Conflict, or_404
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
    item = dict(zip(ITEM_FIELDS, row))  # noqa: B905 (the columns read are ITEM_FIELDS)
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
    group = dict(zip(GROUP_FIELDS, row))  # noqa: B905 (the columns read are GROUP_FIELDS)
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


# A list page's JSON written from the driver tuples by orjson (docs/adr/0039): one dict per row made by
# `zip` (C), the few values the API renders differently put in place (money, times, the score), each
# group's stored explanation text passed through as a pre-encoded fragment, and the page serialised in one
# C call. The bytes are exactly those of `to_json` of the dicts (`item_dict`, `_group_fields`): same key
# order (the row's columns, then `age_days`, for a group `members` and its explanation last), strings
# escaped as serde_json escapes them (orjson does the same), times and floats as `to_json` writes them
# (pre-encoded fragments, cached), PostgreSQL's dates as ISO text (orjson and `to_json` agree; SQLite
# gives the text). tests/results/test_page_json.py compares the two writers. Under the f-string writer it
# replaces, a 1000-group page's JSON was ~22% more CPU (in process, PostgreSQL 1M run).
_ITEM_AMOUNT = ITEM_FIELDS.index("amount")
_ITEM_CURRENCY = ITEM_FIELDS.index("currency")
_ITEM_OPENED = ITEM_FIELDS.index("opened_at")
_NULL_AGE: tuple[None, None] = (None, None)


@lru_cache(maxsize=16_384)
def _opened_fragment(value: object, today: dt.date) -> tuple[orjson.Fragment | None, int | None]:
    """An opened_at as the driver returns it: (its JSON as `to_json` writes it, its age in days)."""
    opened_at = stored_utc(value)
    if opened_at is None:
        return _NULL_AGE
    return orjson.Fragment(to_json(opened_at)), age_days(opened_at, today)


@lru_cache(maxsize=16_384)
def _closed_fragment(value: object) -> orjson.Fragment:
    return orjson.Fragment(to_json(stored_utc(value)))


@lru_cache(maxsize=4096)
def _float_fragment(value: float) -> orjson.Fragment:
    return orjson.Fragment(to_json(value))


def _item_objects(rows: Sequence[Sequence[Any]], today: dt.date) -> list[dict[str, Any]]:
    """Each item as the dict orjson writes (the fields of ItemOut, `age_days` last)."""
    out = []
    for row in rows:
        item = dict(zip(ITEM_FIELDS, row))  # noqa: B905 (the columns read are ITEM_FIELDS)
        item["amount"] = _money(row[_ITEM_AMOUNT], row[_ITEM_CURRENCY])
        opened_at = row[_ITEM_OPENED]
        if opened_at is None:  # matched records: most members of a page
            item["age_days"] = None
        else:
            item["opened_at"], item["age_days"] = _opened_fragment(opened_at, today)
        out.append(item)
    return out


def _group_objects(
    rows: Sequence[Sequence[Any]], members: dict[int, list[tuple[Any, ...]]], today: dt.date
) -> list[dict[str, Any]]:
    """Each group as the dict orjson writes (GroupOut's fields, then `age_days`, `members`, `explanation`)."""
    out = []
    for row in rows:
        group = dict(zip(GROUP_FIELDS, row))  # noqa: B905 (the columns read are GROUP_FIELDS)
        explanation = group.pop("explanation")
        currency = group["currency"]
        for name in GROUP_MONEY:
            group[name] = _money(group[name], currency)
        score = group["score"]
        if score is not None:
            group["score"] = _float_fragment(score)
        opened_at = group["opened_at"]
        opened, age = _NULL_AGE if opened_at is None else _opened_fragment(opened_at, today)
        group["opened_at"] = opened
        closed_at = group["closed_at"]
        if closed_at is not None:
            group["closed_at"], age = _closed_fragment(closed_at), None
        group["age_days"] = age
        group["members"] = _item_objects(members[group["id"]], today)
        group["explanation"] = orjson.Fragment(explanation)
        out.append(group)
    return out


def item_page_json(rows: Sequence[Sequence[Any]], today: dt.date, next_cursor: str | None) -> bytes:
    """A page of items as JSON bytes (the shape of Page[ItemOut]): `page_json` of their `item_dict`s."""
    try:
        return orjson.dumps({"items": _item_objects(rows, today), "next_cursor": next_cursor})
    except orjson.JSONEncodeError:  # a lone surrogate: the serialiser's own error, as before
        return page_json([item_dict(row, today) for row in rows], next_cursor)


def group_page_json(
    rows: list[tuple[Any, ...]],
    members: dict[int, list[tuple[Any, ...]]],
    today: dt.date,
    next_cursor: str | None,
) -> bytes:
    """A page of groups as JSON bytes (the shape of Page[GroupOut]) with each group's stored explanation text
    put in as it is (the database holds valid JSON: the engine's and the ORM's documents; PostgreSQL
    checks it on the way in)."""
    try:
        return orjson.dumps({"items": _group_objects(rows, members, today), "next_cursor": next_cursor})
    except orjson.JSONEncodeError:
        return group_page_json_from_dicts(rows, members, today, next_cursor)


def group_page_json_from_dicts(
    rows: list[tuple[Any, ...]],
    members: dict[int, list[tuple[Any, ...]]],
    today: dt.date,
    next_cursor: str | None,
) -> bytes:
    """The reference writer of a group page: a dict per group and per member, each group serialised by
    `to_json` with its explanation spliced in after it (what `group_page_json` writes directly)."""
    parts = []
    for row in rows:
        group, explanation = _group_fields(row, members[row[GROUP_ID]], today)
        body = to_json(group)  # a non-empty object: b'{...}'
        parts.append(b"".join((body[:-1], b',"explanation":', explanation.encode(), b"}")))
    return b"".join((b'{"items":[', b",".join(parts), b'],"next_cursor":', to_json(next_cursor), b"}"))


class ResultsService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.results = ResultsRepository(session)

    def _check_run(self, access: ProjectAccess, run_id: str) -> None:
        """404 unless the run is one of the project's, 409 unless it has succeeded."""
        status = or_404(RunRepository(self.session).status_in_project(access.project.id, run_id), "run")
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
        group = or_404(self.results.group(run_id, group_id), "group")
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
        return item_page_json(page.items, today, page.next_cursor)

    def item(self, access: ProjectAccess, run_id: str, item_id: int) -> ItemOut:
        self._check_run(access, run_id)
        item = or_404(self.results.item(run_id, item_id), "item")
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
