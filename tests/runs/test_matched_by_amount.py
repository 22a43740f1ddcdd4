"""Groups by amount (docs/adr/0031): the engine's matched groups come from matched_group_amounts, every other
group from the partial amount index; the walks return exactly the groups of the status in (left_total, seq)
order, also after statuses changed since the persist and with a manual group."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from run_helpers import Scene, finish_run, walk
from sqlalchemy import func, select, update

from recon.core.db import SessionFactory
from recon.models.runs import GroupKind, GroupOrigin, GroupStatus, MatchedGroupAmount, MatchGroup

Row = dict[str, Any]


def _by_amount(rows: list[Row], descending: bool) -> list[int]:
    ordered = sorted(rows, key=lambda g: (Decimal(g["left_total"]), g["seq"]), reverse=descending)
    return [g["id"] for g in ordered]


def _check_walks(client: TestClient, scene: Scene, url: str) -> list[Row]:
    everything = walk(client, scene.headers, url, limit=1000)
    for sort in ("amount", "-amount"):
        descending = sort.startswith("-")
        for status in ("matched", "break", None):
            params: dict[str, Any] = {"sort": sort} | ({"status": status} if status else {})
            expected = [g for g in everything if status is None or g["status"] == status]
            got = walk(client, scene.headers, url, limit=7, **params)
            assert [g["id"] for g in got] == _by_amount(expected, descending), params
        both = walk(client, scene.headers, url, limit=5, sort=sort, status=["matched", "break"])
        selected = [g for g in everything if g["status"] in ("matched", "break")]
        assert [g["id"] for g in both] == _by_amount(selected, descending)
        low, high = Decimal("100"), Decimal("900")
        ranged = walk(client, scene.headers, url, limit=6, sort=sort, amount_min=low, amount_max=high)
        within = [g for g in everything if low <= Decimal(g["left_total"]) <= high]
        assert within and [g["id"] for g in ranged] == _by_amount(within, descending)
    return everything


def test_groups_by_amount_walks_after_status_changes(
    client: TestClient, scene: Scene, session_factory: SessionFactory
) -> None:
    run = finish_run(client, scene)
    assert run["status"] == "succeeded", run
    url = f"/api/v1/runs/{run['id']}/groups"
    everything = _check_walks(client, scene, url)
    matched = [g for g in everything if g["status"] == "matched"]
    breaks = [g for g in everything if g["status"] == "break"]
    assert len(matched) > 3 and len(breaks) > 1, "the demo data has matched groups and breaks"
    with session_factory() as session:
        listed = session.scalars(
            select(MatchedGroupAmount.group_id).where(MatchedGroupAmount.run_id == run["id"])
        ).all()
        assert sorted(listed) == sorted(g["id"] for g in matched)
        # Review-like changes after the persist: a listed group dissolved, a break accepted, a manual group.
        session.execute(
            update(MatchGroup).where(MatchGroup.id == matched[1]["id"]).values(status=GroupStatus.UNMATCHED)
        )
        session.execute(update(MatchGroup).where(MatchGroup.id == breaks[0]["id"]).values(status="matched"))
        seq = session.scalar(select(func.max(MatchGroup.seq)).where(MatchGroup.run_id == run["id"]))
        session.add(
            MatchGroup(
                run_id=run["id"],
                seq=seq + 1,
                kind=GroupKind.MANUAL,
                origin=GroupOrigin.MANUAL,
                status=GroupStatus.MATCHED,
                explanation={"decision": "match", "comment": "test"},
                left_total=Decimal(matched[2]["left_total"]),
                right_total=Decimal(matched[2]["left_total"]),
                difference=Decimal(0),
            )
        )
        session.commit()
    after = _check_walks(client, scene, url)
    assert len(after) == len(everything) + 1
    statuses = {g["id"]: g["status"] for g in after}
    assert statuses[matched[1]["id"]] == "unmatched" and statuses[breaks[0]["id"]] == "matched"
