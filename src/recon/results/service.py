"""Reading a run's results on behalf of a project member. No writes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any

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


# A list page's JSON written directly from the driver tuples (no dict per row, no serialiser pass over them):
# each value is encoded by its column's kind into one string per page; a 1000-group page's dicts and their
# `to_json` were most of its Python (docs/adr/0026, fourth pass). The bytes are exactly those of `to_json` of
# the dicts (`item_dict`, `_group_fields`): same key order (the row's columns, then `age_days`, for a group
# `members` and its explanation last), strings escaped as serde_json escapes them (`encode_basestring` does
# the same), floats, times and PostgreSQL's dates through `to_json` itself. tests/results/test_page_json.py
# compares the two writers.
_NULL = "null"
_str = encode_basestring


@lru_cache(maxsize=65_536)
def _money_json(value: object, currency: str | None) -> str:
    return _NULL if value is None else _str(render_stored_amount(value, currency))


@lru_cache(maxsize=16_384)
def _opened_json(value: object, today: dt.date) -> tuple[str, str]:
    """An opened_at as the driver returns it: (its JSON, its age in days as JSON)."""
    opened_at = stored_utc(value)
    if opened_at is None:
        return _NULL, _NULL
    return to_json(opened_at).decode(), str(age_days(opened_at, today))


@lru_cache(maxsize=16_384)
def _closed_json(value: object) -> str:
    return to_json(stored_utc(value)).decode()


@lru_cache(maxsize=4096)
def _float_json(value: float) -> str:
    return to_json(value).decode()


def _date_json(value: object) -> str:
    # SQLite returns the ISO text, PostgreSQL a date: both are written as the ISO text.
    if value is None:
        return _NULL
    return _str(value) if type(value) is str else to_json(value).decode()


def _items_json(rows: Sequence[Sequence[Any]], today: dt.date, out: list[str]) -> list[str]:
    """Append each item's JSON object (the fields of ItemOut, `age_days` last) to `out`; return `out`."""
    for (
        id_,
        run_id,
        side,
        row_no,
        ext_id,
        date,
        amount,
        currency,
        reference,
        counterparty,
        description,
        state,
        reason,
        detail,
        group_id,
        assignee_id,
        opened_at,
        carried_from_id,
        origin_dataset_id,
        version,
    ) in rows:
        if opened_at is None:  # matched records: most members of a page
            opened, age = _NULL, _NULL
        else:
            opened, age = _opened_json(opened_at, today)
        out.append(
            f'{{"id":{id_},"run_id":{_str(run_id)},"side":{_str(side)},"row_no":{row_no},'
            f'"ext_id":{_NULL if ext_id is None else _str(ext_id)},"date":{_date_json(date)},'
            f'"amount":{_money_json(amount, currency)},'
            f'"currency":{_NULL if currency is None else _str(currency)},'
            f'"reference":{_NULL if reference is None else _str(reference)},'
            f'"counterparty":{_NULL if counterparty is None else _str(counterparty)},'
            f'"description":{_NULL if description is None else _str(description)},'
            f'"state":{_str(state)},"reason":{_NULL if reason is None else _str(reason)},'
            f'"detail":{_NULL if detail is None else _str(detail)},'
            f'"group_id":{_NULL if group_id is None else group_id},'
            f'"assignee_id":{_NULL if assignee_id is None else _str(assignee_id)},"opened_at":{opened},'
            f'"carried_from_id":{_NULL if carried_from_id is None else carried_from_id},'
            f'"origin_dataset_id":{_NULL if origin_dataset_id is None else _str(origin_dataset_id)},'
            f'"version":{version},"age_days":{age}}}'
        )
    return out


def _groups_json(
    rows: Sequence[Sequence[Any]], members: dict[int, list[tuple[Any, ...]]], today: dt.date, out: list[str]
) -> None:
    """Append each group's JSON object (GroupOut's fields, then `age_days`, `members`, `explanation`)."""
    for row in rows:
        (
            id_,
            run_id,
            seq,
            pass_name,
            kind,
            origin,
            status,
            score,
            explanation,
            left_count,
            right_count,
            currency,
            left_total,
            right_total,
            difference,
            writeoff_amount,
            writeoff_reason,
            reconciling_type,
            assignee_id,
            opened_at,
            closed_at,
            version,
        ) = row
        opened, age = (_NULL, _NULL) if opened_at is None else _opened_json(opened_at, today)
        if closed_at is None:
            closed = _NULL
        else:
            closed, age = _closed_json(closed_at), _NULL
        out.append(
            f'{{"id":{id_},"run_id":{_str(run_id)},"seq":{seq},'
            f'"pass_name":{_NULL if pass_name is None else _str(pass_name)},'
            f'"kind":{_str(kind)},"origin":{_str(origin)},"status":{_str(status)},'
            f'"score":{_NULL if score is None else _float_json(score)},'
            f'"left_count":{left_count},"right_count":{right_count},'
            f'"currency":{_NULL if currency is None else _str(currency)},'
            f'"left_total":{_money_json(left_total, currency)},'
            f'"right_total":{_money_json(right_total, currency)},'
            f'"difference":{_money_json(difference, currency)},'
            f'"writeoff_amount":{_money_json(writeoff_amount, currency)},'
            f'"writeoff_reason":{_NULL if writeoff_reason is None else _str(writeoff_reason)},'
            f'"reconciling_type":{_NULL if reconciling_type is None else _str(reconciling_type)},'
            f'"assignee_id":{_NULL if assignee_id is None else _str(assignee_id)},'
            f'"opened_at":{opened},"closed_at":{closed},"version":{version},"age_days":{age},'
            f'"members":[{",".join(_items_json(members[id_], today, []))}],"explanation":{explanation}}}'
        )


# The columns the two writers above unpack, in order: a change of the schemas or of the columns read must
# change them too (tests/results/test_page_json.py fails until it does).
_ITEM_LAYOUT = (
    "id", "run_id", "side", "row_no", "ext_id", "date", "amount", "currency", "reference", "counterparty",
    "description", "state", "reason", "detail", "group_id", "assignee_id", "opened_at", "carried_from_id",
    "origin_dataset_id", "version",
)  # fmt: skip
_GROUP_LAYOUT = (
    "id", "run_id", "seq", "pass_name", "kind", "origin", "status", "score", "explanation", "left_count",
    "right_count", "currency", "left_total", "right_total", "difference", "writeoff_amount",
    "writeoff_reason", "reconciling_type", "assignee_id", "opened_at", "closed_at", "version",
)  # fmt: skip
WRITERS_MATCH_COLUMNS = ITEM_FIELDS == _ITEM_LAYOUT and GROUP_FIELDS == _GROUP_LAYOUT


def _joined(objects: list[str], next_cursor: str | None) -> bytes:
    cursor = _NULL if next_cursor is None else _str(next_cursor)
    return f'{{"items":[{",".join(objects)}],"next_cursor":{cursor}}}'.encode()


def item_page_json(rows: Sequence[Sequence[Any]], today: dt.date, next_cursor: str | None) -> bytes:
    """A page of items as JSON bytes (the shape of Page[ItemOut]): `page_json` of their `item_dict`s."""
    if not WRITERS_MATCH_COLUMNS:
        return page_json([item_dict(row, today) for row in rows], next_cursor)
    out: list[str] = []
    _items_json(rows, today, out)
    try:
        return _joined(out, next_cursor)
    except UnicodeEncodeError:  # a lone surrogate: the serialiser's own error, as before
        return page_json([item_dict(row, today) for row in rows], next_cursor)


def group_page_json(
    rows: list[tuple[Any, ...]],
    members: dict[int, list[tuple[Any, ...]]],
    today: dt.date,
    next_cursor: str | None,
) -> bytes:
    """A page of groups as JSON bytes (the shape of Page[GroupOut]) with each group's stored explanation text
    spliced in as it is (the database holds valid JSON: the engine's and the ORM's documents; PostgreSQL
    checks it on the way in)."""
    if not WRITERS_MATCH_COLUMNS:
        return group_page_json_from_dicts(rows, members, today, next_cursor)
    out: list[str] = []
    _groups_json(rows, members, today, out)
    try:
        return _joined(out, next_cursor)
    except UnicodeEncodeError:
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
