"""Fixtures of the results tests: one succeeded demo run (the helpers live with the runs tests)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "runs"))

from run_helpers import Headers, Scene, make_scene, wait_run

from recon.models import Project, Role, User


@pytest.fixture
def scene(
    client: TestClient,
    tmp_path: Path,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
) -> Scene:
    project = make_project()
    preparer = make_user(role=Role.PREPARER, project=project)
    return make_scene(client, project, preparer, auth_headers(preparer), tmp_path / "demo", rows=400, seed=5)


@pytest.fixture
def run(client: TestClient, scene: Scene) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/projects/{scene.project.id}/runs", json=scene.run_body(), headers=scene.headers
    )
    assert response.status_code == 202, response.text
    body = wait_run(client, scene.headers, response.json()["id"])
    assert body["status"] == "succeeded", body
    return body
