"""GET /projects/{id}/jobs, GET /jobs/{id}, POST /jobs/{id}/cancel: scoping, roles, filters, pagination."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from recon.app import create_app
from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.jobs import enqueue
from recon.models import AuditEvent, Project, User
from recon.models.jobs import Job

Headers = Callable[[User | str], dict[str, str]]


@pytest.fixture
def api(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    """The API without the embedded worker: jobs stay as the test puts them."""
    with TestClient(create_app(make_settings(embedded_worker=False))) as client:
        yield client


def _enqueue(
    factory: SessionFactory, project: Project | None, kind: str = "test.echo", **payload: Any
) -> str:
    with session_scope(factory) as session:
        job = enqueue(
            session,
            kind,
            payload or {"value": "v"},
            project_id=project.id if project else None,
            created_by=project.created_by_id if project else None,
        )
        return job.id


def _set(factory: SessionFactory, job_id: str, **values: Any) -> None:
    with session_scope(factory) as session:
        job = session.get(Job, job_id)
        assert job is not None
        for name, value in values.items():
            setattr(job, name, value)


def test_member_reads_a_job(
    api: TestClient,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
) -> None:
    project = make_project()
    viewer = make_user(role="viewer", project=project)
    job_id = _enqueue(session_factory, project, value="hello")

    response = api.get(f"/api/v1/jobs/{job_id}", headers=auth_headers(viewer))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == job_id
    assert body["project_id"] == project.id
    assert (body["kind"], body["status"], body["attempts"], body["max_attempts"]) == (
        "test.echo",
        "queued",
        0,
        3,
    )
    assert body["payload"] == {"value": "hello"}
    assert body["created_by"] == project.created_by_id
    assert "leased_by" not in body


def test_jobs_of_other_projects_and_system_jobs_answer_404(
    api: TestClient,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
) -> None:
    mine, other_tenant = make_project(), make_project()
    same_org_other_project = make_project(owner=make_user(org=mine.org_id))
    me = make_user(role="owner", project=mine)
    for job_id in (
        _enqueue(session_factory, other_tenant),
        _enqueue(session_factory, same_org_other_project),
        _enqueue(session_factory, None),
        "00000000-0000-0000-0000-000000000000",
    ):
        assert api.get(f"/api/v1/jobs/{job_id}", headers=auth_headers(me)).status_code == 404
        assert api.post(f"/api/v1/jobs/{job_id}/cancel", headers=auth_headers(me)).status_code == 404
    assert api.get(f"/api/v1/projects/{other_tenant.id}/jobs", headers=auth_headers(me)).status_code == 404


def test_list_filters_and_paginates_newest_first(
    api: TestClient,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    auth_headers: Headers,
) -> None:
    project, other = make_project(), make_project()
    ids = [_enqueue(session_factory, project, value=str(i)) for i in range(5)]
    failed = _enqueue(session_factory, project, kind="test.flaky", fail_times=1)
    _set(session_factory, failed, status="failed")
    _enqueue(session_factory, other)
    headers = auth_headers(project.created_by_id)
    url = f"/api/v1/projects/{project.id}/jobs"

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = api.get(url, params=params, headers=headers).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [failed, *reversed(ids)]

    by_status = api.get(url, params={"status": "failed"}, headers=headers).json()["items"]
    assert [j["id"] for j in by_status] == [failed]
    by_kind = api.get(url, params={"kind": "test.echo", "status": "queued"}, headers=headers).json()["items"]
    assert {j["id"] for j in by_kind} == set(ids)
    bad = api.get(url, params={"status": "sleeping"}, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.status"


def test_cancel_a_queued_job_is_audited(
    api: TestClient,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    job_id = _enqueue(session_factory, project, kind="test.until_cancelled", marker="/nonexistent")

    response = api.post(f"/api/v1/jobs/{job_id}/cancel", headers=auth_headers(preparer))

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["cancel_requested"]) == ("cancelled", True)
    assert body["message"] == "hook: cancelled (attempts=0)"  # the task's on_cancel hook ran
    with session_scope(session_factory) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "job.cancelled")).one()
    assert (event.actor_id, event.entity_id, event.project_id) == (preparer.id, job_id, project.id)

    again = api.post(f"/api/v1/jobs/{job_id}/cancel", headers=auth_headers(preparer))
    assert again.status_code == 409
    assert "already cancelled" in again.json()["detail"]


def test_cancel_a_running_job_asks_it_to_stop(
    api: TestClient,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    auth_headers: Headers,
) -> None:
    project = make_project()
    job_id = _enqueue(session_factory, project)
    _set(session_factory, job_id, status="running", attempts=1)
    headers = auth_headers(project.created_by_id)

    body = api.post(f"/api/v1/jobs/{job_id}/cancel", headers=headers).json()

    assert (body["status"], body["cancel_requested"], body["message"]) == (
        "running",
        True,
        "cancellation requested",
    )
    assert api.post(f"/api/v1/jobs/{job_id}/cancel", headers=headers).status_code == 200  # idempotent


def test_viewer_cannot_cancel(
    api: TestClient,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
) -> None:
    project = make_project()
    viewer = make_user(role="viewer", project=project)
    job_id = _enqueue(session_factory, project)

    response = api.post(f"/api/v1/jobs/{job_id}/cancel", headers=auth_headers(viewer))

    assert response.status_code == 403
    assert api.get(f"/api/v1/jobs/{job_id}", headers=auth_headers(viewer)).json()["status"] == "queued"


def test_embedded_worker_runs_jobs_the_api_shows(
    client: TestClient,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    auth_headers: Headers,
) -> None:
    project = make_project()
    headers = auth_headers(project.created_by_id)
    job_id = _enqueue(session_factory, project, value="embedded")

    deadline = time.monotonic() + 30
    while (body := client.get(f"/api/v1/jobs/{job_id}", headers=headers).json())["status"] != "succeeded":
        assert time.monotonic() < deadline, body
        time.sleep(0.05)
    assert body["result"] == {"value": "embedded", "attempt": "1", "environment": "test"}
