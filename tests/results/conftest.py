"""Fixtures of the results tests: one succeeded demo run (the helpers live with the runs tests)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "runs"))

from run_helpers import Scene, scene_fixture, wait_run

scene = scene_fixture(rows=400, seed=5)


@pytest.fixture
def run(client: TestClient, scene: Scene) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/projects/{scene.project.id}/runs", json=scene.run_body(), headers=scene.headers
    )
    assert response.status_code == 202, response.text
    body = wait_run(client, scene.headers, response.json()["id"])
    assert body["status"] == "succeeded", body
    return body
