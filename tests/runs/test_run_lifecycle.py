"""A run through the API on demo data: created (202, queued, job), executed by the embedded worker, summary
equal to the CLI's for the same files, results stored once per record; idempotency, validation, listing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from run_helpers import Headers, Scene, create_run, wait_run
from sqlalchemy import func, select

from recon.cli.match import MatchRequest, run_match
from recon.core.db import SessionFactory, session_scope
from recon.models import AuditEvent, MatchGroup, Project, Role, RunItem, User
from recon.models.jobs import Job
from recon.observability.metrics import REGISTRY

FIGURES = ("rows", "matched", "suggested", "break", "unmatched", "rejected", "duplicate", "amounts")


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_run_lifecycle_summary_equals_the_cli(
    client: TestClient, scene: Scene, session_factory: SessionFactory, tmp_path: Path
) -> None:
    matched_before = _sample("recon_run_records_total", side="left", result="matched")
    runs_before = _sample("recon_run_duration_seconds_count", outcome="succeeded")
    created = create_run(client, scene)
    assert created["status"] in ("queued", "running", "succeeded")
    assert created["job_id"] and created["job"]["id"] == created["job_id"]
    assert created["ruleset"]["version"] == 1
    assert created["inputs"]["left_dataset_id"] == scene.left_id

    run = wait_run(client, scene.headers, created["id"])

    assert run["status"] == "succeeded", run
    assert run["progress"]["phase"] == "done"
    assert [p["stage"] for p in run["progress"]["passes"]] == ["done"] * 4
    cli = run_match(MatchRequest(scene.files.left, scene.files.right, scene.files.rules, tmp_path / "cli"))
    summary = run["summary"]
    for side in ("left", "right"):
        assert {k: summary[side][k] for k in FIGURES} == {k: cli[side][k] for k in FIGURES}
    assert summary["passes"] == cli["passes"]
    assert summary["unmatched_reasons"] == cli["unmatched_reasons"]
    assert summary["checks"] == {"exactly_once": True, "control_totals": True}
    assert summary["inputs"]["left_sha256"] == cli["inputs"]["left_sha256"]
    assert summary["inputs"]["right_sha256"] == cli["inputs"]["right_sha256"]
    assert summary["ruleset"]["version"] == 1 and summary["run_id"] == run["id"]
    assert run["results_sha256"] and run["job"]["status"] == "succeeded"

    with session_scope(session_factory) as session:
        items = session.scalar(select(func.count()).select_from(RunItem).where(RunItem.run_id == run["id"]))
        distinct = session.scalar(
            select(
                func.count(func.distinct(RunItem.side + ":" + func.cast(RunItem.row_no, RunItem.side.type)))
            ).where(RunItem.run_id == run["id"])
        )
        groups = session.scalar(
            select(func.count()).select_from(MatchGroup).where(MatchGroup.run_id == run["id"])
        )
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity_id == run["id"]).order_by(AuditEvent.seq)
        ).all()
    assert items == distinct == summary["left"]["rows"] + summary["right"]["rows"]
    assert groups == sum(p["groups"] for p in summary["passes"])
    assert actions == ["run.created", "run.succeeded"]
    matched = _sample("recon_run_records_total", side="left", result="matched") - matched_before
    assert matched == summary["left"]["matched"]
    assert _sample("recon_run_duration_seconds_count", outcome="succeeded") == runs_before + 1


def test_create_validates_inputs(
    client: TestClient, scene: Scene, make_project: Callable[..., Project], auth_headers: Headers
) -> None:
    url = f"/api/v1/projects/{scene.project.id}/runs"
    missing = client.post(url, json=scene.run_body(left_dataset_id="nope"), headers=scene.headers)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "body.left_dataset_id"
    no_version = client.post(url, json=scene.run_body(ruleset_version=9), headers=scene.headers)
    assert no_version.status_code == 422
    assert no_version.json()["errors"][0]["field"] == "body.ruleset_version"
    bad_ruleset = client.post(url, json=scene.run_body(ruleset_id="x"), headers=scene.headers)
    assert bad_ruleset.json()["errors"][0]["field"] == "body.ruleset_id"
    extra = client.post(url, json={**scene.run_body(), "speed": "fast"}, headers=scene.headers)
    assert extra.status_code == 422


def test_create_needs_ready_datasets(
    client: TestClient, scene: Scene, session_factory: SessionFactory
) -> None:
    from recon.models import Dataset

    with session_scope(session_factory) as session:
        dataset = session.get(Dataset, scene.right_id)
        assert dataset is not None
        dataset.status = "ingesting"
    response = client.post(
        f"/api/v1/projects/{scene.project.id}/runs", json=scene.run_body(), headers=scene.headers
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "body.right_dataset_id"
    assert "ingesting" in response.json()["detail"]


def test_idempotency_key_replays_the_same_run(client: TestClient, scene: Scene) -> None:
    url = f"/api/v1/projects/{scene.project.id}/runs"
    headers = {**scene.headers, "Idempotency-Key": "run-1"}
    first = client.post(url, json=scene.run_body(), headers=headers)
    again = client.post(url, json=scene.run_body(), headers=headers)
    other = client.post(url, json=scene.run_body(left_dataset_id=scene.right_id), headers=headers)
    assert (first.status_code, again.status_code, other.status_code) == (202, 200, 422)
    assert again.json()["id"] == first.json()["id"]
    wait_run(client, scene.headers, first.json()["id"])


def test_viewer_reads_but_cannot_start_runs(
    client: TestClient, scene: Scene, make_user: Callable[..., User], auth_headers: Headers
) -> None:
    viewer = auth_headers(make_user(role=Role.VIEWER, project=scene.project))
    url = f"/api/v1/projects/{scene.project.id}/runs"
    assert client.post(url, json=scene.run_body(), headers=viewer).status_code == 403
    run = create_run(client, scene)
    assert client.get(f"/api/v1/runs/{run['id']}", headers=viewer).status_code == 200
    assert client.post(f"/api/v1/runs/{run['id']}/retry", headers=viewer).status_code == 403
    wait_run(client, scene.headers, run["id"])


def test_list_filters_and_pages(client: TestClient, scene: Scene) -> None:
    first, second = create_run(client, scene), create_run(client, scene)
    for run in (first, second):
        wait_run(client, scene.headers, run["id"])
    url = f"/api/v1/projects/{scene.project.id}/runs"
    page = client.get(url, params={"limit": 1}, headers=scene.headers).json()
    assert [r["id"] for r in page["items"]] == [second["id"]]  # newest first
    rest = client.get(url, params={"limit": 1, "cursor": page["next_cursor"]}, headers=scene.headers).json()
    assert [r["id"] for r in rest["items"]] == [first["id"]] and rest["next_cursor"] is None
    both = {second["id"], first["id"]}
    by_dataset = client.get(url, params={"dataset_id": scene.right_id}, headers=scene.headers).json()
    assert {r["id"] for r in by_dataset["items"]} == both
    assert client.get(url, params={"dataset_id": "other"}, headers=scene.headers).json()["items"] == []
    assert client.get(url, params={"status": "failed"}, headers=scene.headers).json()["items"] == []
    by_rules = client.get(url, params={"ruleset_id": scene.ruleset_id}, headers=scene.headers).json()
    assert {r["id"] for r in by_rules["items"]} == both


def test_a_dataset_used_by_a_run_cannot_be_deleted(client: TestClient, scene: Scene) -> None:
    run = create_run(client, scene)
    wait_run(client, scene.headers, run["id"])
    response = client.delete(
        f"/api/v1/projects/{scene.project.id}/datasets/{scene.left_id}", headers=scene.headers
    )
    assert response.status_code == 409
    assert run["id"] in response.json()["detail"]


def test_rules_that_do_not_fit_fail_the_run_without_retries(
    client: TestClient, scene: Scene, session_factory: SessionFactory
) -> None:
    original = "{left: counterparty, right: counterparty, method"
    text = scene.files.rules.read_text().replace(original, "{left: payee, right: counterparty, method", 1)
    assert "payee" in text
    version = client.post(
        f"/api/v1/projects/{scene.project.id}/rulesets/{scene.ruleset_id}/versions",
        json={"text": text},
        headers=scene.headers,
    )
    assert version.status_code == 201, version.text
    run = wait_run(client, scene.headers, create_run(client, scene, ruleset_version=2)["id"])
    assert run["status"] == "failed"
    assert "payee" in run["error"] and not run["error"].startswith("JobFailed")
    assert run["job"]["attempts"] == 1 and run["summary"] is None
    with session_scope(session_factory) as session:
        job = session.get(Job, run["job_id"])
        assert job is not None and job.status == "failed"


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_openapi_lists_the_run_routes(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/projects/{project_id}/runs",
        "/api/v1/runs/{run_id}",
        "/api/v1/runs/{run_id}/events",
    ):
        assert path in paths
