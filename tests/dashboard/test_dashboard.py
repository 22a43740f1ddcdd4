"""The project dashboard: match rates, open exceptions by age bucket and owner, the scope of 'open', trend."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import update

from recon.core.db import SessionFactory, session_scope
from recon.dashboard.service import build_dashboard
from recon.models import MatchGroup, Project, RunItem, User
from review.factory import build_run


def _dashboard(client: TestClient, headers: dict[str, str], project: Project, **params: int) -> dict:  # type: ignore[type-arg]
    response = client.get(f"/api/v1/projects/{project.id}/dashboard", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_dashboard_runs_scope_age_and_owner(
    client: TestClient,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> None:
    project = make_project()
    viewer = make_user(role="viewer", project=project)
    preparer = make_user(role="preparer", project=project, full_name="Pat Preparer")
    now = dt.datetime.now(dt.UTC)
    older = build_run(session_factory, project, created_at=now - dt.timedelta(days=3))
    # a rerun over the same two datasets supersedes `older`
    newer = build_run(
        session_factory,
        project,
        created_at=now - dt.timedelta(days=2),
        datasets=_datasets(session_factory, older.run_id),
    )
    other_pair = build_run(
        session_factory, project, opened_days_ago=10, created_at=now - dt.timedelta(days=1)
    )
    with session_scope(session_factory) as session:
        session.execute(
            update(RunItem)
            .where(RunItem.id.in_([newer.items["ul1"], newer.items["ur1"]]))
            .values(assignee_id=preparer.id)
        )

    body = _dashboard(client, auth_headers(viewer), project)
    assert [r["run_id"] for r in body["runs"]] == [other_pair.run_id, newer.run_id, older.run_id]
    stats = body["runs"][0]
    assert stats["records"] == {"left": 7, "right": 6, "total": 13}
    assert stats["matched"] == {"left": 1, "right": 1, "total": 2}
    assert stats["match_rate"] == {
        "left": round(1 / 7, 6),
        "right": round(1 / 6, 6),
        "overall": round(2 / 13, 6),
    }
    assert stats["items_by_state"]["left"] == {"break": 1, "matched": 1, "suggested": 2, "unmatched": 3}
    assert stats["groups_by_status"] == {"break": 1, "matched": 1, "suggested": 2}
    assert stats["open_exceptions"] == 6

    opened = body["open_exceptions"]
    assert sorted(opened["run_ids"]) == sorted([newer.run_id, other_pair.run_id])  # not `older`
    assert (opened["unmatched_items"], opened["breaks"], opened["total"]) == (10, 2, 12)
    assert opened["by_age"] == {"0-1": 6, "2-7": 0, "8-30": 6, ">30": 0}
    owners = {o["name"]: (o["assignee_id"], o["total"], o["by_age"]) for o in opened["by_owner"]}
    assert owners == {
        "unassigned": (None, 10, {"0-1": 4, "2-7": 0, "8-30": 6, ">30": 0}),
        "Pat Preparer": (preparer.id, 2, {"0-1": 2, "2-7": 0, "8-30": 0, ">30": 0}),
    }
    assert [p["run_id"] for p in body["trend"]] == [older.run_id, newer.run_id, other_pair.run_id]
    assert body["trend"][0] == {
        "run_id": older.run_id,
        "created_at": body["runs"][2]["created_at"],
        "match_rate": round(2 / 13, 6),
        "open_exceptions": 6,
    }
    assert [r["run_id"] for r in _dashboard(client, auth_headers(viewer), project, runs=1)["runs"]] == [
        other_pair.run_id
    ]


def _datasets(session_factory: SessionFactory, run_id: str) -> tuple[str, str]:
    from recon.models import Run

    with session_scope(session_factory) as session:
        run = session.get(Run, run_id)
        assert run is not None
        return run.left_dataset_id, run.right_dataset_id


def test_age_buckets_use_utc_dates(
    session_factory: SessionFactory, make_project: Callable[..., Project]
) -> None:
    project = make_project()
    run = build_run(session_factory, project)
    today = dt.date(2024, 3, 31)

    def at(days_ago: int, hour: int = 0, minute: int = 0) -> dt.datetime:
        day = today - dt.timedelta(days=days_ago)
        return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)

    opened = {
        "ul1": at(1),  # yesterday just after midnight: age 1
        "ur1": at(2, 23, 59),  # age 2
        "ul2": at(7, 23, 59),  # age 7
        "ur2": at(8),  # age 8
        "ul3": at(31),  # age 31
    }
    with session_scope(session_factory) as session:
        for name, when in opened.items():
            session.execute(update(RunItem).where(RunItem.id == run.items[name]).values(opened_at=when))
        session.execute(
            update(MatchGroup).where(MatchGroup.id == run.groups["brk"]).values(opened_at=at(30, 23))
        )
    with session_scope(session_factory) as session:
        board = build_dashboard(session, project.id, 5, today=today)
    assert board.open_exceptions.by_age.model_dump() == {"0-1": 1, "2-7": 2, "8-30": 2, ">30": 1}
    assert board.as_of == today


def test_empty_project_and_access(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> None:
    project = make_project()
    viewer = make_user(role="viewer", project=project)
    body = _dashboard(client, auth_headers(viewer), project)
    assert body["runs"] == [] and body["trend"] == []
    assert body["open_exceptions"]["total"] == 0
    assert body["open_exceptions"]["by_age"] == {"0-1": 0, "2-7": 0, "8-30": 0, ">30": 0}
    stranger = make_user()
    response = client.get(f"/api/v1/projects/{project.id}/dashboard", headers=auth_headers(stranger))
    assert response.status_code == 404
    too_many = client.get(
        f"/api/v1/projects/{project.id}/dashboard", params={"runs": 101}, headers=auth_headers(viewer)
    )
    assert too_many.status_code == 422
