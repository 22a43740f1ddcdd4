"""A malformed statement arriving in a watched feed: taken once, its dataset fails naming the line and the
reason, no row of it is stored, and the schedule waiting on the feed does not start a run on it; the next
good statement does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from feed_helpers import API, entries, feed_scene, mt940, wait_for
from sqlalchemy import func, select

from recon.app import create_app
from recon.config import Settings
from recon.feeds.store import feeds_store
from recon.models import DatasetRecord, Project, Role, User


def test_malformed_statement_in_a_feed_fails_once_and_starts_no_run(
    make_settings: Callable[..., Settings],
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> None:
    settings = make_settings()
    project = make_project()
    headers = auth_headers(make_user(role=Role.ADMIN, project=project))
    rows = entries(12)
    base = f"{API}/projects/{project.id}"
    with TestClient(create_app(settings)) as client:
        scene = feed_scene(client, settings, headers, project.id, rows)
        ledger, ruleset, tick, fired = scene.ledger, scene.ruleset, scene.tick, scene.fired
        feed = client.post(f"{base}/feeds", json={"name": "bank", "path": "bank"}, headers=headers).json()
        body = {"name": "on-arrival", "ruleset_id": ruleset, "left": {"dataset_id": ledger},
                "right": {"feed_id": feed["id"]}, "on_new_file": True}  # fmt: skip
        assert client.post(f"{base}/schedules", json=body, headers=headers).status_code == 201
        good = mt940(rows)
        bad = good.replace(b":62F:", b":62F:X", 1)  # the closing balance line is not a balance
        store = feeds_store(settings)
        store.put_bytes(f"{project.id}/bank/stmt-bad.sta", bad)
        assert tick() == 1
        files = client.get(f"{base}/feeds/{feed['id']}/files", headers=headers).json()["items"]
        assert len(files) == 1 and files[0]["dataset_id"]
        dataset_id = files[0]["dataset_id"]

        def settled() -> dict[str, Any] | None:
            shown = client.get(f"{base}/datasets/{dataset_id}", headers=headers).json()
            return shown if shown["status"] in ("ready", "failed") else None

        failed: Any = wait_for(settled, "the malformed statement's ingestion")
        assert failed["status"] == "failed", failed
        assert "stmt-bad.sta, line" in failed["error"] and ":62F:" in failed["error"], failed["error"]
        with scene.factory() as session:
            stored = session.scalar(
                select(func.count()).select_from(DatasetRecord).where(DatasetRecord.dataset_id == dataset_id)
            )
        assert stored == 0
        for _ in range(3):  # seen: not taken again, and nothing to run on
            assert tick() == 0
        assert fired == []

        store.put_bytes(f"{project.id}/bank/stmt-good.sta", good)
        assert tick() == 1
        wait_for(lambda: tick() == 0 and fired, "the schedule's run on the good statement")
        assert len(fired) == 1
        run = client.get(f"{API}/runs/{fired[0]}", headers=headers).json()
        assert run["inputs"]["right_dataset_id"] != dataset_id
