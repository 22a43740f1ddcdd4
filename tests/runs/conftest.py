"""Fixtures of the runs tests: a project with a preparer and the demo datasets and rule set uploaded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from run_helpers import Headers, Scene, make_scene

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
    return make_scene(client, project, preparer, auth_headers(preparer), tmp_path / "demo")
