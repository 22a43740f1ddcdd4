"""Cancel, retry, rerun, progress events, exception age carried over between runs, rejected records as items.
Jobs run in a worker of the test (no embedded worker), so a run can be caught while queued or running."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from run_helpers import (
    Scene,
    create_run,
    finish_run,
    scene_fixture,
    stored_results,
    upload_ready,
    wait_run,
    walk,
)
from sqlalchemy import select, update

from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.core.time import utcnow
from recon.models import AuditEvent, Dataset, Run, RunItem
from recon.models.jobs import Job
from recon.runs import tasks
from recon.worker.runner import WorkerRunner


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(embedded_worker=False)


scene = scene_fixture(rows=200, drain="drain")


def _actions(factory: SessionFactory, run_id: str) -> list[str]:
    with session_scope(factory) as session:
        return list(
            session.scalars(
                select(AuditEvent.action).where(AuditEvent.entity_id == run_id).order_by(AuditEvent.seq)
            )
        )


def test_cancel_a_queued_run_then_retry_it(
    client: TestClient, scene: Scene, runner: WorkerRunner, session_factory: SessionFactory
) -> None:
    run = create_run(client, scene)
    assert run["status"] == "queued"

    cancelled = client.post(f"/api/v1/runs/{run['id']}/cancel", headers=scene.headers)

    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["job"]["status"]) == ("cancelled", "cancelled")
    assert client.post(f"/api/v1/runs/{run['id']}/cancel", headers=scene.headers).status_code == 409
    assert client.get(f"/api/v1/runs/{run['id']}/groups", headers=scene.headers).status_code == 409
    retried = client.post(f"/api/v1/runs/{run['id']}/retry", headers=scene.headers)
    assert retried.status_code == 202, retried.text
    body = retried.json()
    assert (body["status"], body["attempt"]) == ("queued", 2) and body["job_id"] != run["job_id"]
    runner.run_until_idle()
    done = wait_run(client, scene.headers, run["id"])
    assert done["status"] == "succeeded" and done["summary"]["run_id"] == run["id"]
    assert client.post(f"/api/v1/runs/{run['id']}/retry", headers=scene.headers).status_code == 409
    assert _actions(session_factory, run["id"]) == [
        "run.created",
        "run.cancelled",
        "run.retried",
        "run.succeeded",
    ]


def test_cancel_a_running_run_stores_nothing(
    client: TestClient,
    scene: Scene,
    runner: WorkerRunner,
    session_factory: SessionFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started, proceed = threading.Event(), threading.Event()
    real = tasks.run_engine

    def held_engine(*args: Any, **kwargs: Any) -> Any:
        started.set()
        proceed.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(tasks, "run_engine", held_engine)
    run = create_run(client, scene)
    runner.start()
    assert started.wait(30)
    assert client.get(f"/api/v1/runs/{run['id']}", headers=scene.headers).json()["status"] == "running"

    asked = client.post(f"/api/v1/runs/{run['id']}/cancel", headers=scene.headers)
    proceed.set()

    assert asked.status_code == 200 and asked.json()["job"]["status"] == "running"
    done = wait_run(client, scene.headers, run["id"])
    assert (done["status"], done["job"]["status"], done["summary"]) == ("cancelled", "cancelled", None)
    assert stored_results(session_factory, run["id"]) == ([], [])
    assert _actions(session_factory, run["id"])[-1] == "run.cancelled"


def test_changed_input_fails_the_run_and_a_retry_succeeds_once_it_is_back(
    client: TestClient, scene: Scene, runner: WorkerRunner, session_factory: SessionFactory
) -> None:
    run = create_run(client, scene)
    with session_scope(session_factory) as session:
        dataset = session.get(Dataset, scene.left_id)
        assert dataset is not None
        pinned, dataset.sha256 = dataset.sha256, "0" * 64
    runner.run_until_idle()
    failed = wait_run(client, scene.headers, run["id"])
    assert failed["status"] == "failed" and "pinned" in failed["error"] and failed["job"]["attempts"] == 1
    with session_scope(session_factory) as session:
        session.execute(update(Dataset).where(Dataset.id == scene.left_id).values(sha256=pinned))
    assert client.post(f"/api/v1/runs/{run['id']}/retry", headers=scene.headers).status_code == 202
    runner.run_until_idle()
    assert wait_run(client, scene.headers, run["id"])["status"] == "succeeded"


def test_rerun_reproduces_identicalstored_results(
    client: TestClient, scene: Scene, runner: WorkerRunner, session_factory: SessionFactory
) -> None:
    original = finish_run(client, scene, runner.run_until_idle)
    assert original["status"] == "succeeded"

    response = client.post(f"/api/v1/runs/{original['id']}/rerun", headers=scene.headers)
    assert response.status_code == 202, response.text
    rerun = response.json()
    assert rerun["rerun_of_id"] == original["id"] and rerun["id"] != original["id"]
    assert rerun["identical_to_original"] is None  # not executed yet
    runner.run_until_idle()
    done = wait_run(client, scene.headers, rerun["id"])

    assert done["status"] == "succeeded" and done["identical_to_original"] is True
    first, second = (
        stored_results(session_factory, original["id"]),
        stored_results(session_factory, rerun["id"]),
    )
    assert first == second and len(first[1]) > 0
    with session_scope(session_factory) as session:  # a different digest is reported as different
        session.execute(update(Run).where(Run.id == original["id"]).values(results_sha256="f" * 64))
    assert (
        client.get(f"/api/v1/runs/{rerun['id']}", headers=scene.headers).json()["identical_to_original"]
        is False
    )


def test_progress_events_until_the_end(client: TestClient, scene: Scene, runner: WorkerRunner) -> None:
    run = create_run(client, scene)
    runner.start()
    events: list[tuple[str, dict[str, Any]]] = []
    with client.stream("GET", f"/api/v1/runs/{run['id']}/events", headers=scene.headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: ") and name:
                events.append((name, json.loads(line.removeprefix("data: "))))
    assert events[-1][0] == "end" and events[-1][1]["status"] == "succeeded"
    assert [n for n, _ in events[:-1]] == ["progress"] * (len(events) - 1) and len(events) >= 2
    assert events[-1][1]["progress"]["phase"] == "done"
    assert {e["status"] for _, e in events[:-1]} <= {"queued", "running"}


def test_exception_age_is_carried_over_to_the_next_run(
    client: TestClient, scene: Scene, runner: WorkerRunner, session_factory: SessionFactory
) -> None:
    first = finish_run(client, scene, runner.run_until_idle)
    assert first["status"] == "succeeded"
    opened = utcnow() - dt.timedelta(days=10)
    with session_scope(session_factory) as session:
        session.execute(
            update(RunItem)
            .where(RunItem.run_id == first["id"], RunItem.opened_at.is_not(None))
            .values(opened_at=opened)
        )
    second = finish_run(client, scene, runner.run_until_idle)
    assert second["status"] == "succeeded"

    url = f"/api/v1/runs/{second['id']}/unmatched"
    items = walk(client, scene.headers, url, side="left")
    assert items and {i["age_days"] for i in items} == {10}
    assert len(walk(client, scene.headers, url, side="left", min_age=10)) == len(items)
    assert walk(client, scene.headers, url, side="left", max_age=9) == []


def test_rejected_records_are_unmatched_items(
    client: TestClient, scene: Scene, runner: WorkerRunner, tmp_path: Path
) -> None:
    lines = scene.files.left.read_text().splitlines()
    cells = lines[3].split(",")  # data row 3: its amount becomes unreadable
    lines[3] = ",".join([*cells[:2], "not-a-number", *cells[3:]])
    broken = tmp_path / "ledger-broken.csv"
    broken.write_text("\n".join(lines) + "\n")
    left = upload_ready(client, scene.headers, scene.project.id, broken, runner.run_until_idle)
    response = client.post(
        f"/api/v1/projects/{scene.project.id}/runs",
        json=scene.run_body(left_dataset_id=left),
        headers=scene.headers,
    )
    runner.run_until_idle()
    run = wait_run(client, scene.headers, response.json()["id"])

    assert run["status"] == "succeeded" and run["summary"]["left"]["rejected"] == 1
    rejected = walk(
        client, scene.headers, f"/api/v1/runs/{run['id']}/unmatched", side="left", reason="rejected"
    )
    assert [(i["row_no"], i["state"], i["ext_id"]) for i in rejected] == [(3, "unmatched", None)]
    assert "amount" in rejected[0]["detail"]


def test_job_of_a_run_is_listed_with_the_project_jobs(
    client: TestClient, scene: Scene, runner: WorkerRunner, session_factory: SessionFactory
) -> None:
    run = create_run(client, scene)
    with session_scope(session_factory) as session:
        job = session.get(Job, run["job_id"])
        assert job is not None and (job.kind, job.payload) == ("run_execute", {"run_id": run["id"]})
    runner.run_until_idle()
    assert wait_run(client, scene.headers, run["id"])["job"]["status"] == "succeeded"
