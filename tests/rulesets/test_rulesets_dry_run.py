"""Dry run of a rule set version against two uploaded datasets: the engine's summary, nothing stored."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from recon.app import create_app
from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.engine import parse_rules, reconcile
from recon.ingest import read_file
from recon.models import AuditEvent, Project, Role, User
from runs.run_helpers import make_scene, upload_ready

Headers = Callable[[User | str], dict[str, str]]


@pytest.fixture
def scene(
    client: TestClient,
    tmp_path: Path,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
) -> dict[str, Any]:
    project = make_project()
    preparer = make_user(role=Role.PREPARER, project=project)
    made = make_scene(client, project, preparer, auth_headers(preparer), tmp_path / "demo", rows=80, seed=11)
    return {
        "files": made.files,
        "project": project,
        "headers": made.headers,
        "left": made.left_id,
        "right": made.right_id,
        "ruleset": made.ruleset_id,
        "viewer": auth_headers(make_user(role=Role.VIEWER, project=project)),
    }


def _dry_run(
    client: TestClient, scene: dict[str, Any], headers: dict[str, str] | None = None, **body: Any
) -> Any:
    payload = {"left_dataset_id": scene["left"], "right_dataset_id": scene["right"], **body}
    url = f"/api/v1/projects/{scene['project'].id}/rulesets/{scene['ruleset']}/dry-run"
    return client.post(url, json=payload, headers=headers or scene["headers"])


def _file_summary(files: Any) -> dict[str, Any]:
    rules = parse_rules(files.rules.read_text())
    left = read_file(files.left, types=rules.column_types("left"))
    right = read_file(files.right, types=rules.column_types("right"))
    return dict(reconcile(left.table, right.table, rules).summary)


def test_dry_run_matches_the_engine_on_the_files(
    client: TestClient, scene: dict[str, Any], session_factory: SessionFactory
) -> None:
    with session_scope(session_factory) as s:
        events_before = s.scalar(select(func.count()).select_from(AuditEvent))
    response = _dry_run(client, scene)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == 1 and body["elapsed_s"] >= 0
    summary = body["summary"]
    expected = _file_summary(scene["files"])
    for side in ("left", "right"):
        for key in ("rows", "matched", "suggested", "break", "unmatched", "rejected", "duplicate"):
            assert summary[side][key] == expected[side][key], (side, key)
    assert [p["matched"] for p in summary["passes"]] == [p["matched"] for p in expected["passes"]]
    assert summary["checks"] == {"exactly_once": True, "control_totals": True}
    assert summary["left"]["rows"] == 80
    inputs = summary["inputs"]
    assert inputs["left_dataset_id"] == scene["left"] and inputs["ruleset_version"] == 1
    assert len(inputs["left_sha256"]) == 64 and inputs["left_file"] == "ledger.csv"
    with session_scope(session_factory) as s:  # nothing stored, not even an audit event
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == events_before


def test_dry_run_refusals(client: TestClient, scene: dict[str, Any]) -> None:
    assert _dry_run(client, scene, headers=scene["viewer"]).status_code == 403
    missing = _dry_run(client, scene, right_dataset_id="nope")
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "body.right_dataset_id"
    no_version = _dry_run(client, scene, version=7)
    assert no_version.status_code == 404 and "no version 7" in no_version.json()["detail"]

    # Rules naming a column the datasets do not have: the engine's message, as a 422 per problem.
    url = f"/api/v1/projects/{scene['project'].id}/rulesets/{scene['ruleset']}/versions"
    text = scene["files"].rules.read_text().replace("left: counterparty", "left: counterpart")
    assert client.post(url, json={"text": text}, headers=scene["headers"]).status_code == 201
    unfit = _dry_run(client, scene)
    assert unfit.status_code == 422, unfit.text
    assert any("counterpart" in e["message"] for e in unfit.json()["errors"])


def test_dry_run_is_bounded(scene: dict[str, Any], settings: Settings) -> None:
    small = create_app(settings.model_copy(update={"dry_run_max_rows": 50}))
    with TestClient(small) as limited:
        response = _dry_run(limited, scene)
    assert response.status_code == 422
    problem = response.json()
    assert "limited to 50 per side" in problem["detail"]
    [error] = problem["errors"]
    assert error["field"] == "body.left_dataset_id"
    assert re.fullmatch(r"\d+ records > dry-run limit 50", error["message"])


def test_rejected_rows_are_counted(
    client: TestClient,
    tmp_path: Path,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
) -> None:
    project = make_project()
    headers = auth_headers(make_user(role=Role.PREPARER, project=project))
    header = "id,date,amount,currency,reference,counterparty,description\n"
    left = tmp_path / "left.csv"
    left.write_text(
        header
        + "L1,2024-01-02,10.00,EUR,R1,A,x\nL2,2024-01-02,ten,EUR,R2,B,y\nL3,2024-01-03,5.5,EUR,R3,C,z\n"
    )
    right = tmp_path / "right.csv"
    right.write_text(header + "B1,2024-01-02,10.00,EUR,R1,A,x\n")
    rules = (
        "version: 1\nname: refs\nleft: {id: id}\nright: {id: id}\npasses:\n"
        "  - {name: ref, kind: one_to_one, match: [{left: reference, right: reference, op: equals}]}\n"
    )
    scene = {
        "project": project,
        "headers": headers,
        "left": upload_ready(client, headers, project.id, left),
        "right": upload_ready(client, headers, project.id, right),
    }
    created = client.post(
        f"/api/v1/projects/{project.id}/rulesets", json={"name": "r", "text": rules}, headers=headers
    )
    scene["ruleset"] = created.json()["id"]
    response = _dry_run(client, scene)
    assert response.status_code == 200, response.text
    summary = response.json()["summary"]["left"]
    assert (summary["rows"], summary["matched"], summary["unmatched"], summary["rejected"]) == (3, 1, 1, 1)
