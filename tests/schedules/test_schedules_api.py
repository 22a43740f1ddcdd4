"""Schedules through the API: next run times, bad input named by field, who may create them, and missed
slots firing once when a worker is back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from feeds.feed_helpers import API, create_ruleset, entries, ledger_csv, upload_ready
from recon.core.db import SessionFactory, session_scope
from recon.models import Project, Role, Run, Schedule, User
from recon.models.audit import AuditEvent
from recon.schedules.fire import fire_due


@pytest.fixture
def world(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> dict[str, Any]:
    project = make_project()
    headers = auth_headers(make_user(role=Role.PREPARER, project=project))
    rows = entries(6)
    ledger = upload_ready(client, headers, project.id, "ledger.csv", ledger_csv(rows))
    bank = upload_ready(client, headers, project.id, "bank.csv", ledger_csv(rows))
    ruleset = create_ruleset(client, headers, project.id)
    body = {
        "name": "weekday-mornings",
        "ruleset_id": ruleset,
        "left": {"dataset_id": ledger},
        "right": {"dataset_id": bank},
        "cron": "0 6 * * 1-5",
        "timezone": "Europe/Berlin",
    }
    return {
        "project": project,
        "headers": headers,
        "body": body,
        "url": f"{API}/projects/{project.id}/schedules",
    }


def test_next_runs_are_weekday_mornings_in_the_zone(client: TestClient, world: dict[str, Any]) -> None:
    created = client.post(world["url"], json=world["body"], headers=world["headers"])
    assert created.status_code == 201, created.text
    runs = [dt.datetime.fromisoformat(t) for t in created.json()["next_runs"]]
    assert len(runs) == 5
    for slot in runs:
        local = slot.astimezone(dt.timezone(slot.utcoffset() or dt.timedelta()))
        assert (local.hour, local.minute) == (6, 0) and local.weekday() < 5
        assert slot.utcoffset() in (dt.timedelta(hours=1), dt.timedelta(hours=2))  # Berlin, winter or summer
    listed = client.get(world["url"], headers=world["headers"]).json()["items"]
    assert [s["id"] for s in listed] == [created.json()["id"]]


CRON_DIGITS = "not a valid 5-field cron expression (minute hour day month weekday): '0 25 * * *'"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"cron": "0 25 * * *"}, "body.cron", CRON_DIGITS),
        ({"cron": "0 0 31 2 *"}, "body.cron", "the cron expression '0 0 31 2 *' never fires"),
        ({"timezone": "Europe/Atlantis"}, "body.timezone", "unknown IANA time zone 'Europe/Atlantis'"),
        ({"cron": None, "on_new_file": False}, "body.cron", "give a cron expression or on_new_file: true"),
        ({"right": {"dataset_id": "nope"}}, "body.right.dataset_id", "no dataset 'nope' in this project"),
        ({"left": {"feed_id": "nofeed"}}, "body.left.feed_id", "no feed 'nofeed' in this project"),
        (
            {"right": {"feed_id": "f", "dataset_id": "d"}},
            "body.right",
            "Value error, give exactly one of feed_id and dataset_id",
        ),
        ({"ruleset_id": "missing"}, "body.ruleset_id", "no rule set 'missing' in this project"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: TestClient, world: dict[str, Any], change: dict[str, Any], field: str, message: str
) -> None:
    """The service names the command's fields; the endpoint places them (and the detail) under `body`."""
    response = client.post(world["url"], json={**world["body"], **change}, headers=world["headers"])
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["detail"] == f"{field}: {message}"
    assert problem["errors"] == [{"field": field, "message": message}]


@pytest.mark.parametrize("change", [{"cron": "0 25 * * *"}, {"cron": None, "on_new_file": False}])
def test_bad_change_is_422_naming_the_field(
    client: TestClient, world: dict[str, Any], change: dict[str, Any]
) -> None:
    created = client.post(world["url"], json=world["body"], headers=world["headers"]).json()
    response = client.patch(
        f"{world['url']}/{created['id']}",
        json={"version": created["version"], **change},
        headers=world["headers"],
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("body.cron: ")
    assert [e["field"] for e in response.json()["errors"]] == ["body.cron"]


def test_viewer_cannot_create_but_can_read(
    client: TestClient,
    world: dict[str, Any],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> None:
    viewer = auth_headers(make_user(role=Role.VIEWER, project=world["project"]))
    assert client.post(world["url"], json=world["body"], headers=viewer).status_code == 403
    created = client.post(world["url"], json=world["body"], headers=world["headers"]).json()
    assert client.get(f"{world['url']}/{created['id']}", headers=viewer).status_code == 200
    assert client.delete(f"{world['url']}/{created['id']}", headers=viewer).status_code == 403


def _runs(factory: SessionFactory, project_id: str) -> int:
    with session_scope(factory) as session:
        return int(
            session.scalar(select(func.count()).select_from(Run).where(Run.project_id == project_id)) or 0
        )


def test_missed_slots_fire_once_when_a_worker_is_back(client: TestClient, world: dict[str, Any]) -> None:
    created = client.post(world["url"], json=world["body"], headers=world["headers"]).json()
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    project_id = world["project"].id
    now = dt.datetime.now(dt.UTC)
    assert fire_due(factory, now) == []  # nothing due right after creation
    with session_scope(factory) as session:  # the workers were down for ten days
        schedule = session.get(Schedule, created["id"])
        assert schedule is not None
        schedule.last_slot_at = now - dt.timedelta(days=10)
    started = fire_due(factory, now)
    assert len(started) == 1  # not one per missed weekday
    assert fire_due(factory, now) == []
    assert fire_due(factory, now + dt.timedelta(minutes=1)) == []
    assert _runs(factory, project_id) == 1
    shown = client.get(f"{world['url']}/{created['id']}", headers=world["headers"]).json()
    assert shown["last_run_id"] == started[0]
    assert dt.datetime.fromisoformat(shown["last_slot_at"]) <= now
    # the next weekday slot fires again, once
    next_slot = dt.datetime.fromisoformat(shown["next_runs"][0])
    assert len(fire_due(factory, next_slot + dt.timedelta(seconds=1))) == 1
    assert _runs(factory, project_id) == 2


def test_paused_schedule_does_not_fire_missed_slots_when_resumed(
    client: TestClient, world: dict[str, Any]
) -> None:
    created = client.post(world["url"], json=world["body"], headers=world["headers"]).json()
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    url = f"{world['url']}/{created['id']}"
    paused = client.patch(url, json={"enabled": False}, headers=world["headers"])
    assert paused.status_code == 200 and paused.json()["next_runs"] == []
    with session_scope(factory) as session:
        schedule = session.get(Schedule, created["id"])
        assert schedule is not None
        schedule.last_slot_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    resumed = client.patch(url, json={"enabled": True}, headers=world["headers"])
    assert resumed.status_code == 200
    assert fire_due(factory, dt.datetime.now(dt.UTC)) == []


def test_sources_of_a_schedule_cannot_be_deleted_under_it(client: TestClient, world: dict[str, Any]) -> None:
    base = f"{API}/projects/{world['project'].id}"
    admin_feed = client.post(f"{base}/feeds", json={"name": "in", "path": "in"}, headers=world["headers"])
    assert admin_feed.status_code == 403  # feeds are configured by admins
    created = client.post(world["url"], json=world["body"], headers=world["headers"]).json()
    ledger = world["body"]["left"]["dataset_id"]
    refused = client.delete(f"{base}/datasets/{ledger}", headers=world["headers"])
    assert refused.status_code == 409 and "weekday-mornings" in refused.json()["detail"]
    assert client.delete(f"{world['url']}/{created['id']}", headers=world["headers"]).status_code == 204
    assert client.delete(f"{base}/datasets/{ledger}", headers=world["headers"]).status_code == 204


def test_every_change_is_audited_in_the_project_chain(
    client: TestClient, world: dict[str, Any], session_factory: SessionFactory
) -> None:
    created = client.post(world["url"], json=world["body"], headers=world["headers"]).json()
    changed = client.patch(
        f"{world['url']}/{created['id']}",
        json={"enabled": False, "version": created["version"]},
        headers=world["headers"],
    )
    assert changed.status_code == 200, changed.text
    assert client.delete(f"{world['url']}/{created['id']}", headers=world["headers"]).status_code == 204
    with session_scope(session_factory) as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.entity_id == created["id"]).order_by(AuditEvent.seq)
        ).all()
        trail = [(e.action, e.entity_type, e.project_id, e.data["enabled"]) for e in events]
    project = world["project"].id
    assert trail == [
        ("schedule.created", "schedule", project, True),
        ("schedule.updated", "schedule", project, False),
        ("schedule.deleted", "schedule", project, False),
    ]
