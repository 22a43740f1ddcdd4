"""Dry runs execute on a worker: with the API's embedded worker off, a `recon worker` process runs the engine
and the request returns its summary (the API process needs no data stack); without a worker the request
answers 503 after DRY_RUN_TIMEOUT_S and leaves no queued job behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from recon.app import create_app
from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.demo import generate
from recon.models import Project, Role, User
from recon.models.jobs import Job
from runs.run_helpers import upload_ready
from worker_processes import worker_processes

Headers = Callable[[User | str], dict[str, str]]


def _dry_run_jobs(factory: SessionFactory) -> int:
    with session_scope(factory) as session:
        return int(session.scalar(select(func.count()).select_from(Job).where(Job.kind == "ruleset_dry_run")))


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_dry_run_on_a_worker_process(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
    session_factory: SessionFactory,
) -> None:
    settings = make_settings(embedded_worker=False, dry_run_timeout_s=120.0)
    files = generate(60, tmp_path / "demo", seed=5)
    project = make_project()
    headers = auth_headers(make_user(role=Role.PREPARER, project=project))
    with (
        TestClient(create_app(settings)) as client,
        worker_processes(settings, tmp_path, imports="recon.exports.tasks", imports_dir=tmp_path) as spawn,
    ):
        worker = spawn()
        left = upload_ready(client, headers, project.id, files.left)
        right = upload_ready(client, headers, project.id, files.right)
        ruleset = client.post(
            f"/api/v1/projects/{project.id}/rulesets",
            json={"name": "demo", "text": files.rules.read_text()},
            headers=headers,
        ).json()["id"]
        url = f"/api/v1/projects/{project.id}/rulesets/{ruleset}/dry-run"
        body = {"left_dataset_id": left, "right_dataset_id": right}
        done = client.post(url, json=body, headers=headers)
        assert done.status_code == 200, done.text
        summary = done.json()["summary"]
        assert summary["inputs"]["left_dataset_id"] == left
        assert summary["left"]["rows"] == 60  # every record of the side is accounted for
        assert _dry_run_jobs(session_factory) == 0  # the transient job row is gone
        worker.kill()
        worker.wait(10)
    impatient = settings.model_copy(update={"dry_run_timeout_s": 1.0})
    with TestClient(create_app(impatient)) as client:
        refused = client.post(url, json=body, headers=headers)
    assert refused.status_code == 503, refused.text
    assert "DRY_RUN_TIMEOUT_S" in refused.json()["detail"]
    assert _dry_run_jobs(session_factory) == 0
