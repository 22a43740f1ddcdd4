"""Results lists of a demo run: cursor walks visit every group and item exactly once in every sort order;
filters return exactly the rows that satisfy them; single group/item reads; runs without results."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from run_helpers import Scene, walk

Row = dict[str, Any]


def _url(run: Row, tail: str) -> str:
    return f"/api/v1/runs/{run['id']}/{tail}"


def _keys(rows: list[Row], field: str) -> list[Any]:
    return [r[field] for r in rows]


def _sorted_ok(rows: list[Row], field: str, descending: bool, convert: Any = lambda v: v) -> None:
    """Non-null values in order (ties by the row key), nulls last ascending / first descending."""
    values = [None if r[field] is None else convert(r[field]) for r in rows]
    present = [v for v in values if v is not None]
    assert present == sorted(present, reverse=descending)
    nulls = [v is None for v in values]
    if descending:
        assert nulls == sorted(nulls, reverse=True)
    else:
        assert nulls == sorted(nulls)


def test_every_group_and_item_exactly_once(client: TestClient, scene: Scene, run: Row) -> None:
    summary = run["summary"]
    groups = walk(client, scene.headers, _url(run, "groups"), limit=37)
    assert len(groups) == len({g["id"] for g in groups}) == sum(p["groups"] for p in summary["passes"])
    assert _keys(groups, "seq") == sorted(_keys(groups, "seq"))
    members: Counter[tuple[str, int]] = Counter()
    for group in groups:
        assert len(group["members"]) == group["left_count"] + group["right_count"]
        assert {m["group_id"] for m in group["members"]} == {group["id"]}
        left = sum(Decimal(m["amount"]) for m in group["members"] if m["side"] == "left")
        assert Decimal(group["left_total"]) == left
        assert Decimal(group["difference"]) == Decimal(group["left_total"]) - Decimal(group["right_total"])
        assert group["explanation"] is not None and group["status"] in ("matched", "suggested", "break")
        members.update((m["side"], m["row_no"]) for m in group["members"])
    for side in ("left", "right"):
        unmatched = walk(client, scene.headers, _url(run, "unmatched"), side=side, limit=11)
        assert len(unmatched) == summary[side]["unmatched"] + summary[side]["rejected"]
        assert all(i["state"] == "unmatched" and i["reason"] and i["age_days"] == 0 for i in unmatched)
        members.update((side, i["row_no"]) for i in unmatched)
        rows = summary[side]["rows"]
        assert sorted(r for s, r in members if s == side) == list(range(1, rows + 1))
    assert set(members.values()) == {1}  # no record twice


@pytest.mark.parametrize("sort", ["amount", "-amount", "date", "-date", "age", "-age", "id", "-id"])
def test_unmatched_walk_in_every_order(client: TestClient, scene: Scene, run: Row, sort: str) -> None:
    expected = walk(client, scene.headers, _url(run, "unmatched"), side="right", limit=1000)
    rows = walk(client, scene.headers, _url(run, "unmatched"), side="right", limit=4, sort=sort)
    assert sorted(_keys(rows, "id")) == sorted(_keys(expected, "id"))
    field = {"amount": "amount", "date": "date", "age": "age_days", "id": "id"}[sort.lstrip("-")]
    _sorted_ok(rows, field, sort.startswith("-"), Decimal if field == "amount" else (lambda v: v))


@pytest.mark.parametrize("sort", ["amount", "-amount", "score", "-score", "age", "-seq"])
def test_group_walk_in_every_order(client: TestClient, scene: Scene, run: Row, sort: str) -> None:
    expected = walk(client, scene.headers, _url(run, "groups"), status="break", limit=1000)
    assert expected, "the demo data has breaks"
    rows = walk(client, scene.headers, _url(run, "groups"), status="break", limit=3, sort=sort)
    assert sorted(_keys(rows, "id")) == sorted(_keys(expected, "id"))
    field = {"amount": "left_total", "score": "score", "age": "age_days", "seq": "seq"}[sort.lstrip("-")]
    _sorted_ok(rows, field, sort.startswith("-"), Decimal if field == "left_total" else (lambda v: v))
    everything = walk(client, scene.headers, _url(run, "groups"), limit=500, sort=sort)
    assert (
        len(everything)
        == len({g["id"] for g in everything})
        == run["summary"]["passes"][0]["groups"] + sum(p["groups"] for p in run["summary"]["passes"][1:])
    )


def test_group_filters(client: TestClient, scene: Scene, run: Row) -> None:
    url, headers = _url(run, "groups"), scene.headers
    everything = walk(client, headers, url, limit=1000)

    def check(expected: list[Row], **params: Any) -> None:
        got = walk(client, headers, url, limit=50, **params)
        assert _keys(got, "id") == _keys(expected, "id"), params
        assert expected, f"{params} selects nothing in the demo data: a weak check"

    check([g for g in everything if g["status"] == "break"], status="break")
    check([g for g in everything if g["status"] in ("break", "matched")], status=["break", "matched"])
    check([g for g in everything if g["pass_name"] == "batches"], **{"pass": "batches"})
    low, high = Decimal("100"), Decimal("900")
    check([g for g in everything if low <= Decimal(g["left_total"]) <= high], amount_min=low, amount_max=high)
    check([g for g in everything if abs(Decimal(g["difference"])) >= 1], difference_min=1)
    day = dt.date.fromisoformat(everything[0]["members"][0]["date"])
    in_range = [g for g in everything if any(m["date"] == day.isoformat() for m in g["members"])]
    check(in_range, date_from=day, date_to=day)
    word = everything[5]["members"][0]["counterparty"].split()[0]
    texts = [
        g
        for g in everything
        if any(
            word.lower() in (m[f] or "").lower()
            for m in g["members"]
            for f in ("reference", "counterparty", "description", "ext_id")
        )
    ]
    check(texts, q=word)
    check([g for g in everything if g["status"] == "break"], status="break", max_age=0)
    assert walk(client, headers, url, min_age=1) == []
    assert walk(client, headers, url, assignee_id="nobody") == []


def test_unmatched_filters(client: TestClient, scene: Scene, run: Row) -> None:
    url, headers = _url(run, "unmatched"), scene.headers
    everything = walk(client, headers, url, side="right", limit=1000)

    def check(expected: list[Row], **params: Any) -> None:
        got = walk(client, headers, url, side="right", limit=7, **params)
        assert _keys(got, "id") == _keys(expected, "id"), params
        assert expected, f"{params} selects nothing in the demo data: a weak check"

    for reason in {i["reason"] for i in everything}:
        check([i for i in everything if i["reason"] == reason], reason=reason)
    check([i for i in everything if Decimal(i["amount"]) < 0], amount_max=Decimal("-0.01"))
    day = everything[0]["date"]
    check([i for i in everything if i["date"] == day], date_from=day, date_to=day)
    word = everything[0]["counterparty"].split()[0]
    matching = [
        i
        for i in everything
        if any(
            word.lower() in (i[f] or "").lower()
            for f in ("reference", "counterparty", "description", "ext_id")
        )
    ]
    check(matching, q=word)
    check(everything, max_age=0)
    assert walk(client, headers, url, side="right", min_age=1) == []
    assert walk(client, headers, url, side="right", state="pending") == []
    percent = client.get(url, params={"side": "right", "q": "%"}, headers=headers).json()
    assert percent["items"] == []  # LIKE wildcards are escaped


def test_single_group_and_item(client: TestClient, scene: Scene, run: Row) -> None:
    page = client.get(_url(run, "groups"), params={"limit": 1}, headers=scene.headers).json()
    group = page["items"][0]
    assert client.get(_url(run, f"groups/{group['id']}"), headers=scene.headers).json() == group
    member = group["members"][0]
    assert client.get(_url(run, f"items/{member['id']}"), headers=scene.headers).json() == member
    assert client.get(_url(run, "groups/999999999"), headers=scene.headers).status_code == 404
    assert client.get(_url(run, "items/999999999"), headers=scene.headers).status_code == 404
    bad = client.get(_url(run, "groups"), params={"cursor": "not-a-cursor"}, headers=scene.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.cursor"
    assert client.get(_url(run, "unmatched"), headers=scene.headers).status_code == 422  # side is required
    assert client.get(_url(run, "groups"), params={"limit": 1001}, headers=scene.headers).status_code == 422
    for value in ("NaN", "Infinity", "1e999"):
        nan = client.get(_url(run, "groups"), params={"amount_min": value}, headers=scene.headers)
        assert nan.status_code == 422 and nan.json()["errors"][0]["field"] == "query.amount_min"


def test_group_pages_carry_the_stored_explanations(client: TestClient, scene: Scene, run: Row) -> None:
    # A page splices each stored explanation text into its JSON; the single read parses it: both must agree,
    # for every status (engine explanations of each pass kind) and with a cursor.
    for status in ("matched", "suggested", "break"):
        page = client.get(
            _url(run, "groups"), params={"status": status, "limit": 4}, headers=scene.headers
        ).json()
        assert page["items"] or status == "suggested", status
        more = (
            client.get(
                _url(run, "groups"),
                params={"status": status, "limit": 4, "cursor": page["next_cursor"]},
                headers=scene.headers,
            ).json()["items"]
            if page["next_cursor"]
            else []
        )
        for group in page["items"] + more:
            assert isinstance(group["explanation"], dict) and group["explanation"], group
            single = client.get(_url(run, f"groups/{group['id']}"), headers=scene.headers).json()
            assert single == group
