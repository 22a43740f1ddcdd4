"""Embedded SQLite with jobs in child processes (JOB_ISOLATION=process): while uploads are ingested by the
embedded worker's children, the API takes 50 comment writes without a 503 (a busy database) or a 500."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from recon.config import Settings
from recon.core.db import session_scope
from recon.models.jobs import Job

from .conftest import API, Env

pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
UPLOADS = 3
ROWS = 20_000
WRITES = 50


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(embedded_worker=True, job_isolation="process", worker_concurrency=2)


def _running_jobs(env: Env) -> int:
    with session_scope(env.session_factory) as session:
        return session.scalar(select(func.count()).select_from(Job).where(Job.status == "running")) or 0


def _csv(rows: int, seed: int) -> bytes:
    lines = ["id,date,amount,reference"]
    for n in range(rows):
        lines.append(f"S{seed}-{n},2024-03-{n % 28 + 1:02d},{n % 997}.{n % 100:02d},REF-{seed}-{n}")
    return ("\n".join(lines) + "\n").encode()


def test_api_writes_succeed_while_child_processes_ingest(env: Env) -> None:
    headers = env.headers(env.users["preparer"])
    datasets_url = f"{API}/projects/{env.project.id}/datasets"
    uploaded = []
    for seed in range(UPLOADS):
        files = {"file": (f"bank-{seed}.csv", _csv(ROWS, seed), "text/csv")}
        response = env.client.post(datasets_url, headers=headers, files=files)
        assert response.status_code in (201, 202), response.text
        uploaded.append(response.json()["id"])
    group_id = env.run.groups["brk"]
    statuses, while_running = [], 0
    for n in range(WRITES):
        while_running += _running_jobs(env) > 0
        body = {"target": "group", "target_id": group_id, "text": f"while ingesting {n}"}
        statuses.append(env.act("preparer", "comments", body).status_code)
    assert statuses == [201] * WRITES
    assert while_running > 0, "no write overlapped a running job: make the uploads bigger"
    deadline = time.monotonic() + 120
    while True:
        states = [env.client.get(f"{datasets_url}/{i}", headers=headers).json()["status"] for i in uploaded]
        if all(state == "ready" for state in states):
            break
        assert "failed" not in states, states
        assert time.monotonic() < deadline, f"the uploads were not ingested: {states}"
        time.sleep(0.1)
    listed = env.get(
        "viewer", f"/runs/{env.run.run_id}/comments", target="group", target_id=group_id, limit=WRITES
    )
    assert len(listed.json()["items"]) == WRITES
