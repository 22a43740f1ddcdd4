"""A page of groups is serialised in one call with the stored explanations put in place of a placeholder:
the same bytes as serialising it group by group, also when a value holds the placeholder itself."""

from __future__ import annotations

import datetime as dt
import json
from collections import namedtuple
from typing import Any

from recon.results import service
from recon.results.service import GROUP_FIELDS, ITEM_FIELDS, group_page_json

GroupRow = namedtuple("GroupRow", GROUP_FIELDS)  # type: ignore[misc]
ItemRow = namedtuple("ItemRow", ITEM_FIELDS)  # type: ignore[misc]
TODAY = dt.date(2026, 12, 6)
OPENED = dt.datetime(2026, 11, 30, 9, 15, tzinfo=dt.UTC)


def _group(gid: int, explanation: str, reference: str) -> tuple[Any, list[Any]]:
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
    return GroupRow(**values), [ItemRow(**member)]


def _page(references: list[str]) -> tuple[bytes, bytes]:
    rows, members = [], {}
    for gid, reference in enumerate(references, start=1):
        row, items = _group(gid, json.dumps({"gid": gid, "fields": {"amount": [1, "x\u00e9"]}}), reference)
        rows.append(row)
        members[gid] = items
    fast = group_page_json(rows, members, TODAY, "next")
    groups, explanations = [], []
    for row in rows:
        group, explanation = service._group_fields(row, members[row.id], TODAY)
        group["explanation"] = None
        groups.append(group)
        explanations.append(explanation.encode())
    slow = service._group_page_json_one_by_one(groups, explanations, "next")
    return fast, slow


def test_one_call_and_group_by_group_agree() -> None:
    fast, slow = _page(["INV-1", 'quote " and \\ back', "INV-3"])
    assert fast == slow
    body = json.loads(fast)
    assert [g["explanation"]["gid"] for g in body["items"]] == [1, 2, 3]
    assert body["items"][0]["members"][0]["amount"] is not None and body["next_cursor"] == "next"
    assert list(body["items"][0])[-2:] == ["members", "explanation"]


def test_a_value_holding_the_placeholder_is_served_right() -> None:
    fast, slow = _page(["INV-1", service._SLOT, "INV-3"])
    assert fast == slow
    body = json.loads(fast)
    assert body["items"][1]["members"][0]["reference"] == service._SLOT
    assert [g["explanation"]["gid"] for g in body["items"]] == [1, 2, 3]


def test_an_empty_page() -> None:
    assert json.loads(group_page_json([], {}, TODAY, None)) == {"items": [], "next_cursor": None}
