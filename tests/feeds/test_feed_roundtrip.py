"""Round trip: a generated MT940 statement dropped into a watched feed (S3 on a moto server, or the local
feeds directory) is ingested once, and the schedule reconciles it against a generated ledger, end to end on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from feed_helpers import API, create_ruleset, entries, feed_scene, mt940, wait_for

from recon.app import create_app
from recon.config import Settings
from recon.feeds.store import feeds_store
from recon.models import Project, Role, User


def _settings(
    backend: str, make_settings: Callable[..., Settings], request: pytest.FixtureRequest
) -> Settings:
    if backend == "local":
        return make_settings()
    return make_settings(
        feeds_backend="s3",
        feeds_s3_bucket=request.getfixturevalue("s3_bucket"),
        s3_endpoint_url=request.getfixturevalue("moto_endpoint"),
        s3_region="us-east-1",
    )


@pytest.mark.parametrize("backend", ["s3", "local"])
def test_statement_through_feed_and_schedule_reconciles(
    backend: str,
    request: pytest.FixtureRequest,
    make_settings: Callable[..., Settings],
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> None:
    settings = _settings(backend, make_settings, request)
    project = make_project()
    headers = auth_headers(make_user(role=Role.ADMIN, project=project))
    rows = entries(40)
    base = f"{API}/projects/{project.id}"
    with TestClient(create_app(settings)) as client:
        scene = feed_scene(client, settings, headers, project.id, rows)
        ledger, ruleset, tick, fired = scene.ledger, scene.ruleset, scene.tick, scene.fired
        feed = client.post(f"{base}/feeds", json={"name": "bank", "path": "bank/eur"}, headers=headers)
        assert feed.status_code == 201, feed.text
        assert feed.json()["location"].endswith(f"{project.id}/bank/eur/")
        body = {
            "name": "statement-arrives",
            "ruleset_id": ruleset,
            "left": {"dataset_id": ledger},
            "right": {"feed_id": feed.json()["id"]},
            "cron": "0 6 * * 1-5",
            "timezone": "Europe/Berlin",
            "on_new_file": True,
        }
        schedule = client.post(f"{base}/schedules", json=body, headers=headers)
        assert schedule.status_code == 201, schedule.text
        assert len(schedule.json()["next_runs"]) == 5

        store = feeds_store(settings)
        store.put_bytes(f"{project.id}/bank/eur/stmt-0301.sta", mt940(rows))
        assert tick() == 1
        assert tick() == 0  # seen: not ingested again
        store.put_bytes(f"{project.id}/bank/eur/stmt-0301-again.sta", mt940(rows))  # same bytes, new name
        assert tick() == 0

        files = client.get(f"{base}/feeds/{feed.json()['id']}/files", headers=headers).json()["items"]
        made = [f for f in files if f["dataset_id"]]
        assert len(files) == 2 and len(made) == 1
        assert [f["duplicate_of"] for f in files if not f["dataset_id"]] == [made[0]["dataset_id"]]

        wait_for(lambda: tick() == 0 and fired, "the schedule's run (once the statement is ingested)")
        tick()
        assert len(fired) == 1  # fired once for this input, however many ticks
        runs = fired

        def finished() -> dict[str, Any] | None:
            run = client.get(f"{API}/runs/{runs[0]}", headers=headers).json()
            return run if run["status"] in ("succeeded", "failed") else None

        run: Any = wait_for(finished, "the run")
        assert run["status"] == "succeeded", run
        assert run["inputs"]["left_dataset_id"] == ledger
        assert run["inputs"]["right_dataset_id"] == made[0]["dataset_id"]
        matched = client.get(f"{API}/runs/{runs[0]}/groups", headers=headers, params={"limit": 100}).json()
        assert len(matched["items"]) == len(rows)
        shown = client.get(f"{base}/schedules/{schedule.json()['id']}", headers=headers).json()
        assert shown["last_run_id"] == runs[0] and shown["last_error"] is None


def test_feed_used_by_a_schedule_cannot_be_deleted(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> None:
    project = make_project()
    headers = auth_headers(make_user(role=Role.ADMIN, project=project))
    base = f"{API}/projects/{project.id}"
    ruleset = create_ruleset(client, headers, project.id)
    left = client.post(f"{base}/feeds", json={"name": "ledger", "path": "ledger"}, headers=headers).json()
    right = client.post(f"{base}/feeds", json={"name": "bank", "path": "bank"}, headers=headers).json()
    taken = client.post(f"{base}/feeds", json={"name": "bank2", "path": "bank"}, headers=headers)
    assert taken.status_code == 409
    sources = {"left": {"feed_id": left["id"]}, "right": {"feed_id": right["id"]}}
    body = {"name": "s", "ruleset_id": ruleset, **sources, "on_new_file": True}
    assert client.post(f"{base}/schedules", json=body, headers=headers).status_code == 201
    refused = client.delete(f"{base}/feeds/{right['id']}", headers=headers)
    assert refused.status_code == 409 and "schedule 's'" in refused.json()["detail"]
