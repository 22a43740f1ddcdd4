"""A list page is written directly from the driver's tuples (`group_page_json`, `item_page_json`): the same
bytes as serialising the dicts the API's pages were built from (`to_json` of `_group_fields` / `item_dict`),
for every kind of value a column holds on SQLite (ISO text, sortable money text) and PostgreSQL (dates,
aware datetimes, Decimal money), escapes, non-ASCII text, nulls and edge floats."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections import namedtuple
from decimal import Decimal
from typing import Any

import pytest

from recon.core.money import sortable_text as sortable_money
from recon.results.service import (
    GROUP_FIELDS,
    ITEM_FIELDS,
    group_page_json,
    group_page_json_from_dicts,
    item_dict,
    item_page_json,
    page_json,
)

GroupRow = namedtuple("GroupRow", GROUP_FIELDS)  # type: ignore[misc]
ItemRow = namedtuple("ItemRow", ITEM_FIELDS)  # type: ignore[misc]
TODAY = dt.date(2026, 12, 6)
OPENED = dt.datetime(2026, 11, 30, 9, 15, tzinfo=dt.UTC)
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
TEXTS = ["INV-1", 'quote " and \\ back', "tab\tnew\nline\x01\x1f\x7f", "caf\u00e9 \u2028 \U0001f600", "/", ""]


def _group(gid: int, explanation: str, reference: str | None, **changes: Any) -> tuple[Any, list[Any]]:
    values: dict[str, Any] = dict.fromkeys(GROUP_FIELDS)
    values |= {
        "id": gid,
        "run_id": "r1",
        "seq": gid,
        "pass_name": "exact",
        "kind": "one_to_one",
        "origin": "engine",
        "status": "break",
        "score": 0.75,
        "explanation": explanation,
        "left_count": 1,
        "right_count": 1,
        "currency": "EUR",
        "left_total": "12.50",
        "right_total": "12.00",
        "difference": "0.50",
        "opened_at": OPENED,
        "version": 1,
    }
    values |= {k: v for k, v in changes.items() if k in GROUP_FIELDS}
    member: dict[str, Any] = dict.fromkeys(ITEM_FIELDS)
    member |= {
        "id": gid * 10,
        "run_id": "r1",
        "side": "left",
        "row_no": gid,
        "date": dt.date(2026, 11, 29),
        "amount": "12.50",
        "currency": "EUR",
        "reference": reference,
        "state": "suggested",
        "group_id": gid,
        "opened_at": OPENED,
        "version": 1,
    }
    member |= {k.removeprefix("m_"): v for k, v in changes.items() if k.startswith("m_")}
    matched = dict(member, id=gid * 10 + 1, side="right", state="matched", opened_at=None, amount="12.00")
    return GroupRow(**values), [ItemRow(**member), ItemRow(**matched)]


def _page(references: list[str | None], **changes: Any) -> tuple[bytes, bytes]:
    rows, members = [], {}
    for gid, reference in enumerate(references, start=1):
        explanation = json.dumps({"gid": gid, "fields": {"amount": [1, "x\u00e9"]}})
        row, items = _group(gid, explanation, reference, **changes)
        rows.append(row)
        members[gid] = items
    return group_page_json(rows, members, TODAY, "next"), group_page_json_from_dicts(
        rows, members, TODAY, "next"
    )


def test_direct_and_dict_writers_agree() -> None:
    fast, slow = _page([*TEXTS, None])
    assert fast == slow
    body = json.loads(fast)
    assert [g["explanation"]["gid"] for g in body["items"]] == list(range(1, len(TEXTS) + 2))
    assert body["items"][0]["members"][0]["amount"] == "12.50" and body["next_cursor"] == "next"
    assert list(body["items"][0])[-3:] == ["age_days", "members", "explanation"]
    assert list(body["items"][0]["members"][0])[-1] == "age_days"
    assert body["items"][3]["members"][0]["reference"] == TEXTS[3]


@pytest.mark.parametrize(
    "changes",
    [
        {},  # PostgreSQL-like: dates, aware UTC datetimes
        {
            "opened_at": "2026-11-30 09:15:00.123456",
            "m_opened_at": "2026-11-30 09:15:00",
            "m_date": "2026-11-29",
        },
        {"opened_at": OPENED.astimezone(PARIS), "closed_at": dt.datetime(2026, 12, 1, 10, tzinfo=PARIS)},
        {"closed_at": "2026-12-01 10:00:00", "writeoff_amount": "0.50", "writeoff_reason": "fx"},
        {"score": None, "pass_name": None, "currency": None, "assignee_id": "u\u00e9"},
        {"score": 1e-05, "kind": "many_to_one", "reconciling_type": "timing"},
        {"score": 1.0, "status": "matched", "opened_at": None},
        {"score": 0.30000000000000004, "currency": "JPY", "left_total": Decimal("1500")},
        {"currency": "BHD", "left_total": Decimal("-1.25"), "difference": Decimal("0")},
        {
            "left_total": sortable_money(Decimal("-12.5")),
            "right_total": sortable_money(Decimal("1234567.891")),
            "m_amount": sortable_money(Decimal("0")),
        },
        {"m_ext_id": "E-\u00e9", "m_detail": 'no "candidate"', "m_reason": "no_candidate"},
        {"m_carried_from_id": 7, "m_origin_dataset_id": "ds-1", "m_assignee_id": "u2", "m_group_id": 3},
    ],
)
def test_every_kind_of_value_is_written_like_the_serialiser(changes: dict[str, Any]) -> None:
    fast, slow = _page(TEXTS, **changes)
    assert fast == slow
    json.loads(fast)


def test_an_item_page_is_the_serialised_dicts() -> None:
    _, members = _group(1, "{}", "x")
    rows = [
        *members,
        ItemRow(**{**members[0]._asdict(), "id": 99, "group_id": None, "opened_at": "2026-11-01 00:00:00"}),
        *(ItemRow(**{**members[0]._asdict(), "reference": text, "description": text}) for text in TEXTS),
    ]
    for cursor in ("c\u00e9", None):
        expected = page_json([item_dict(row, TODAY) for row in rows], cursor)
        assert item_page_json(rows, TODAY, cursor) == expected
    assert item_page_json([], TODAY, None) == page_json([], None) == b'{"items":[],"next_cursor":null}'


def test_a_lone_surrogate_fails_like_the_serialiser() -> None:
    with pytest.raises(ValueError):
        _page(["\ud800"])


def test_an_empty_page() -> None:
    assert json.loads(group_page_json([], {}, TODAY, None)) == {"items": [], "next_cursor": None}
    assert group_page_json([], {}, TODAY, None) == group_page_json_from_dicts([], {}, TODAY, None)
