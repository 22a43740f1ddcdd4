"""Helpers shared by the runs and results tests: a demo project (two datasets and a rule set uploaded through
the API), creating a run and waiting for it to finish."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from recon.core.db import SessionFactory, session_scope
from recon.demo import DemoFiles, generate
from recon.models import MatchGroup, Project, Role, RunItem, User

Headers = Callable[[User | str], dict[str, str]]
WAIT_S = 120.0  # a deadline for jobs, not a timing assertion
FINAL = ("succeeded", "failed", "cancelled")


@dataclass
class Scene:
    project: Project
    preparer: User
    headers: dict[str, str]
    files: DemoFiles
    left_id: str
    right_id: str
    ruleset_id: str

    def run_body(self, **overrides: Any) -> dict[str, Any]:
        return {
            "left_dataset_id": self.left_id,
            "right_dataset_id": self.right_id,
            "ruleset_id": self.ruleset_id,
            **overrides,
        }


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def upload_ready(
    client: TestClient,
    headers: dict[str, str],
    project_id: str,
    path: Path,
    drain: Callable[[], object] | None = None,
) -> str:
    response = client.post(
        f"/api/v1/projects/{project_id}/datasets",
        files={"file": (path.name, path.read_bytes(), "text/csv")},
        headers=headers,
    )
    assert response.status_code in (201, 202), response.text
    dataset_id: str = response.json()["id"]

    def ready() -> bool:
        if drain is not None:
            drain()  # no embedded worker: run the due jobs here
        body = client.get(f"/api/v1/projects/{project_id}/datasets/{dataset_id}", headers=headers).json()
        assert body["status"] != "failed", body
        return bool(body["status"] == "ready")

    wait_until(ready, f"dataset {path.name} to be ingested")
    return dataset_id


def make_scene(
    client: TestClient,
    project: Project,
    preparer: User,
    headers: dict[str, str],
    out_dir: Path,
    rows: int = 300,
    seed: int = 7,
    drain: Callable[[], object] | None = None,
) -> Scene:
    files = generate(rows, out_dir, seed=seed)
    left = upload_ready(client, headers, project.id, files.left, drain)
    right = upload_ready(client, headers, project.id, files.right, drain)
    created = client.post(
        f"/api/v1/projects/{project.id}/rulesets",
        json={"name": f"demo-{seed}", "text": files.rules.read_text()},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    return Scene(project, preparer, headers, files, left, right, created.json()["id"])


def scene_fixture(rows: int = 300, seed: int = 7, drain: str | None = None) -> Any:
    """The `scene` fixture of a test package (runs, results, spark): a project with a preparer and the demo
    datasets (`rows` each, generated with `seed`) and rule set uploaded. Bind it in a conftest or test module
    as `scene = scene_fixture(...)`. Without the embedded worker, `drain` names the fixture that gives the
    callable running the due jobs (ingestion) in the test."""

    @pytest.fixture
    def scene(
        client: TestClient,
        tmp_path: Path,
        make_project: Callable[..., Project],
        make_user: Callable[..., User],
        auth_headers: Headers,
        request: pytest.FixtureRequest,
    ) -> Scene:
        project = make_project()
        preparer = make_user(role=Role.PREPARER, project=project)
        run_jobs = request.getfixturevalue(drain) if drain is not None else None
        return make_scene(
            client, project, preparer, auth_headers(preparer), tmp_path / "demo", rows, seed, run_jobs
        )

    return scene


def create_run(client: TestClient, scene: Scene, **body: Any) -> dict[str, Any]:
    """POST a run of the scene's datasets and rule set (`body` overrides the run's fields): the 202 body."""
    response = client.post(
        f"/api/v1/projects/{scene.project.id}/runs", json=scene.run_body(**body), headers=scene.headers
    )
    assert response.status_code == 202, response.text
    created: dict[str, Any] = response.json()
    return created


def finish_run(
    client: TestClient, scene: Scene, drain: Callable[[], object] | None = None, **body: Any
) -> dict[str, Any]:
    """`create_run`, then `drain` (a test's own worker, tests/runs/conftest.py) when given, then the run once
    it has finished (any final status)."""
    created = create_run(client, scene, **body)
    if drain is not None:
        drain()
    return wait_run(client, scene.headers, created["id"])


def wait_run(client: TestClient, headers: dict[str, str], run_id: str) -> dict[str, Any]:
    def final() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(f"/api/v1/runs/{run_id}", headers=headers).json()
        return body if body["status"] in FINAL else None

    result: dict[str, Any] = wait_until(final, f"run {run_id} to finish")
    return result


def walk(client: TestClient, headers: dict[str, str], url: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a keyset list, following next_cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get(url, params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def stored_results(
    factory: SessionFactory, run_id: str
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Groups and items of a run without their ids (which differ between runs)."""
    with session_scope(factory) as session:
        groups = session.execute(
            select(
                MatchGroup.seq,
                MatchGroup.pass_name,
                MatchGroup.kind,
                MatchGroup.status,
                MatchGroup.score,
                MatchGroup.explanation,
                MatchGroup.left_total,
                MatchGroup.right_total,
            )
            .where(MatchGroup.run_id == run_id)
            .order_by(MatchGroup.seq)
        ).all()
        seq = {g.id: g.seq for g in session.scalars(select(MatchGroup).where(MatchGroup.run_id == run_id))}
        items = session.execute(
            select(
                RunItem.side, RunItem.row_no, RunItem.state, RunItem.reason, RunItem.detail, RunItem.group_id
            )
            .where(RunItem.run_id == run_id)
            .order_by(RunItem.side, RunItem.row_no)
        ).all()
    return [tuple(g) for g in groups], [(*i[:5], seq.get(i[5])) for i in items]
