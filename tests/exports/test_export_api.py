"""Export routes: tenant isolation, run state, idempotency, audit events, the direct CSV and its limit,
downloads before completion, cancellation, and the exported audit trail verifying offline."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from export_helpers import (
    API,
    Headers,
    RunSpec,
    SmallRun,
    expected_sections,
    export_and_download,
    make_run,
    wait_export,
)
from export_readers import check_csv
from fastapi.testclient import TestClient
from sqlalchemy import select

from recon.app import create_app
from recon.audit.chain import check_events
from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.exports import tasks
from recon.models import AuditEvent, Project, User
from recon.models.exports import Export

CSV_BODY = {"what": "unmatched", "format": "csv"}


def _events(session_factory: SessionFactory, project_id: str, action: str) -> list[AuditEvent]:
    with session_scope(session_factory) as session:
        stmt = select(AuditEvent).where(AuditEvent.project_id == project_id, AuditEvent.action == action)
        return list(session.scalars(stmt.order_by(AuditEvent.seq)))


def test_other_tenants_and_non_members_see_nothing(
    client: TestClient,
    auth_headers: Headers,
    small_run: SmallRun,
    make_user: Callable[..., User],
    make_project: Callable[..., Project],
) -> None:
    export, _, _ = export_and_download(
        client, auth_headers(small_run.owner), small_run.run_id, "groups", "csv"
    )
    stranger = make_user()  # another organisation
    neighbour = make_user(org=small_run.project.org_id)  # same organisation, not a member
    make_project(owner=stranger)
    for user in (stranger, neighbour):
        headers = auth_headers(user)
        calls = [
            client.post(f"{API}/runs/{small_run.run_id}/exports", json=CSV_BODY, headers=headers),
            client.get(f"{API}/runs/{small_run.run_id}/exports", headers=headers),
            client.get(
                f"{API}/runs/{small_run.run_id}/export.csv", params={"what": "groups"}, headers=headers
            ),
            client.get(f"{API}/exports/{export['id']}", headers=headers),
            client.get(f"{API}/exports/{export['id']}/download", headers=headers),
        ]
        for response in calls:
            assert response.status_code == 404, (response.request.url, response.text)
            assert "INV-1" not in response.text
    assert len(_events(client.app.state.session_factory, small_run.project.id, "export.downloaded")) == 1


def test_runs_of_another_project_cannot_be_reached_through_one_s_own_project(
    client: TestClient,
    auth_headers: Headers,
    session_factory: SessionFactory,
    small_run: SmallRun,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
) -> None:
    """An export id of project A read by an owner of project B (same organisation) is 404."""
    export, _, _ = export_and_download(
        client, auth_headers(small_run.owner), small_run.run_id, "groups", "json"
    )
    other_owner = make_user(org=small_run.project.org_id)
    other_project = make_project(owner=other_owner)
    make_run(session_factory, other_project, other_owner, RunSpec())
    headers = auth_headers(other_owner)
    assert client.get(f"{API}/exports/{export['id']}", headers=headers).status_code == 404
    assert client.get(f"{API}/exports/{export['id']}/download", headers=headers).status_code == 404


def test_listing_and_audit_events(
    client: TestClient, auth_headers: Headers, session_factory: SessionFactory, small_run: SmallRun
) -> None:
    headers = auth_headers(small_run.viewer)
    first, _, _ = export_and_download(client, headers, small_run.run_id, "groups", "csv")
    second, _, _ = export_and_download(client, headers, small_run.run_id, "breaks", "xlsx")
    page = client.get(f"{API}/runs/{small_run.run_id}/exports", params={"limit": 1}, headers=headers).json()
    assert [item["id"] for item in page["items"]] == [second["id"]]
    rest = client.get(
        f"{API}/runs/{small_run.run_id}/exports", params={"cursor": page["next_cursor"]}, headers=headers
    ).json()
    assert [item["id"] for item in rest["items"]] == [first["id"]] and rest["next_cursor"] is None
    created = _events(session_factory, small_run.project.id, "export.created")
    downloaded = _events(session_factory, small_run.project.id, "export.downloaded")
    assert [e.entity_id for e in created] == [first["id"], second["id"]]
    assert {e.actor_id for e in created + downloaded} == {small_run.viewer.id}
    assert created[1].data == {
        "run_id": small_run.run_id,
        "what": "breaks",
        "format": "xlsx",
        "job_id": second["job_id"],
    }
    assert downloaded[0].data["sha256"] == first["sha256"] and downloaded[0].data["rows"] == first["rows"]


def test_results_of_an_unfinished_run_are_not_exported_but_its_audit_trail_is(
    client: TestClient,
    auth_headers: Headers,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
) -> None:
    owner = make_user()
    project = make_project(owner=owner)
    run_id = make_run(session_factory, project, owner, RunSpec(status="running"))
    headers = auth_headers(owner)
    response = client.post(f"{API}/runs/{run_id}/exports", json=CSV_BODY, headers=headers)
    assert response.status_code == 409 and response.json()["type"].endswith("/run-not-finished")
    inline = client.get(f"{API}/runs/{run_id}/export.csv", params={"what": "groups"}, headers=headers)
    assert inline.status_code == 409
    export, data, _ = export_and_download(client, headers, run_id, "audit", "csv")
    assert export["rows"] == 1 and b"export.created" in data


def test_idempotency_key(client: TestClient, auth_headers: Headers, small_run: SmallRun) -> None:
    headers = {**auth_headers(small_run.owner), "Idempotency-Key": "exp-1"}
    url = f"{API}/runs/{small_run.run_id}/exports"
    first = client.post(url, json=CSV_BODY, headers=headers)
    again = client.post(url, json=CSV_BODY, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    other = client.post(url, json={"what": "groups", "format": "csv"}, headers=headers)
    assert other.status_code == 422 and other.json()["type"].endswith("/idempotency-key-reused")
    viewer = client.post(
        url, json=CSV_BODY, headers={**auth_headers(small_run.viewer), "Idempotency-Key": "exp-1"}
    )
    assert viewer.status_code == 202 and viewer.json()["id"] != first.json()["id"]


def test_bad_requests_are_422(client: TestClient, auth_headers: Headers, small_run: SmallRun) -> None:
    headers = auth_headers(small_run.owner)
    url = f"{API}/runs/{small_run.run_id}/exports"
    for body in (
        {"what": "everything", "format": "csv"},
        {"what": "groups", "format": "pdf"},
        {"what": "groups"},
    ):
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 422, response.text
    extra = client.post(url, json={**CSV_BODY, "sheet": "x"}, headers=headers)
    assert extra.status_code == 422
    inline = client.get(f"{API}/runs/{small_run.run_id}/export.csv", params={"what": "all"}, headers=headers)
    assert inline.status_code == 422 and inline.json()["errors"][0]["field"] == "query.what"


# -- the direct CSV -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("what", ["groups", "unmatched", "breaks"])
def test_direct_csv_streams_the_section(
    client: TestClient, auth_headers: Headers, session_factory: SessionFactory, small_run: SmallRun, what: str
) -> None:
    response = client.get(
        f"{API}/runs/{small_run.run_id}/export.csv",
        params={"what": what},
        headers=auth_headers(small_run.viewer),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith(
        f'attachment; filename="run-{small_run.run_id[:8]}-'
    )
    expected = expected_sections(small_run.spec, {small_run.assignee.id: "assignee@example.com"})[what]
    check_csv(response.content, expected)
    (event,) = _events(session_factory, small_run.project.id, "export.downloaded")
    assert event.entity_id == small_run.run_id and event.data["inline"] is True
    assert event.data["rows"] == len(expected)


def test_direct_csv_above_the_row_limit_points_at_the_job_route(
    make_settings: Callable[..., Settings], auth_headers: Headers, small_run: SmallRun
) -> None:
    app = create_app(make_settings(export_inline_max_rows=3))
    with TestClient(app) as client:
        url = f"{API}/runs/{small_run.run_id}/export.csv"
        headers = auth_headers(small_run.owner)
        assert client.get(url, params={"what": "breaks"}, headers=headers).status_code == 200  # 2 rows
        response = client.get(url, params={"what": "unmatched"}, headers=headers)  # 4 rows
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"].endswith("/export-too-large")
    assert f"POST /api/v1/runs/{small_run.run_id}/exports" in problem["detail"]
    assert response.headers["link"] == f'</api/v1/runs/{small_run.run_id}/exports>; rel="export-job"'


# -- before completion, cancellation ------------------------------------------------------------------------
def test_download_before_completion_and_cancellation(
    make_settings: Callable[..., Settings],
    auth_headers: Headers,
    session_factory: SessionFactory,
    small_run: SmallRun,
) -> None:
    app = create_app(make_settings(embedded_worker=False))  # nobody runs the job
    headers = auth_headers(small_run.owner)
    with TestClient(app) as client:
        created = client.post(f"{API}/runs/{small_run.run_id}/exports", json=CSV_BODY, headers=headers).json()
        assert created["status"] == "queued" and created["sha256"] is None
        early = client.get(f"{API}/exports/{created['id']}/download", headers=headers)
        assert early.status_code == 409 and early.json()["type"].endswith("/export-not-ready")
        cancel = client.post(f"{API}/jobs/{created['job_id']}/cancel", headers=headers)
        assert cancel.status_code == 200, cancel.text
        export = client.get(f"{API}/exports/{created['id']}", headers=headers).json()
    assert export["status"] == "cancelled"
    assert _events(session_factory, small_run.project.id, "export.downloaded") == []


def test_missing_file_is_410(
    client: TestClient, auth_headers: Headers, session_factory: SessionFactory, small_run: SmallRun
) -> None:
    headers = auth_headers(small_run.owner)
    export, _, _ = export_and_download(client, headers, small_run.run_id, "groups", "csv")
    with session_scope(session_factory) as session:
        key = session.get(Export, export["id"]).storage_key  # type: ignore[union-attr]
    client.app.state.settings.data_dir.joinpath("objects", key).unlink()
    response = client.get(f"{API}/exports/{export['id']}/download", headers=headers)
    assert response.status_code == 410 and response.json()["type"].endswith("/export-gone")


# -- the audit trail ----------------------------------------------------------------------------------------
def test_exported_audit_trail_verifies_offline(
    client: TestClient, auth_headers: Headers, small_run: SmallRun
) -> None:
    """The JSON lines of what=audit carry every hashed field: recomputing the chain from the file succeeds,
    and an edited line is named."""
    headers = auth_headers(small_run.owner)
    export_and_download(client, headers, small_run.run_id, "groups", "csv")  # more events in the chain
    _, data, _ = export_and_download(client, headers, small_run.run_id, "audit", "json")
    rows: list[dict[str, Any]] = [json.loads(line) for line in data.splitlines()]
    assert [row["action"] for row in rows] == ["export.created", "export.downloaded", "export.created"]
    assert [row["seq"] for row in rows] == [1, 2, 3]
    report = check_events(rows)
    assert report.ok and report.events_checked == 3
    api_head = client.get(f"{API}/projects/{small_run.project.id}/audit/verify", headers=headers).json()[
        "head"
    ]
    assert api_head["seq"] >= 3  # this download appended one more after the export was written
    rows[1]["data"]["sha256"] = "0" * 64
    broken = check_events(rows)
    assert not broken.ok and broken.breaks[0].event_id == rows[1]["id"]


def test_an_export_larger_than_the_limit_fails_without_retries(
    make_settings: Callable[..., Settings], auth_headers: Headers, small_run: SmallRun
) -> None:
    app = create_app(make_settings(export_max_bytes=100))
    headers = auth_headers(small_run.owner)
    with TestClient(app) as client:
        created = client.post(f"{API}/runs/{small_run.run_id}/exports", json=CSV_BODY, headers=headers).json()
        export = wait_export(client, headers, created["id"])
        job = client.get(f"{API}/jobs/{created['job_id']}", headers=headers).json()
        download = client.get(f"{API}/exports/{created['id']}/download", headers=headers)
    assert export["status"] == "failed" and export["sha256"] is None
    assert export["error"].startswith("the export file exceeds EXPORT_MAX_BYTES (100 bytes)")
    assert job["status"] == "failed" and job["attempts"] == 1
    assert download.status_code == 409


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_an_attempt_that_dies_after_storing_is_retried_to_the_same_file(
    client: TestClient,
    auth_headers: Headers,
    session_factory: SessionFactory,
    small_run: SmallRun,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first attempt stores the file, then dies before its final transaction: the export stays without a
    file until the retry, which stores the same bytes (same content key) and succeeds."""
    real_get_store = tasks.get_store
    calls: list[str] = []

    class DiesAfterStoring:
        def __init__(self, settings: Settings) -> None:
            self.store = real_get_store(settings)

        def put_stream(self, stream: Any, **kwargs: Any) -> Any:
            stored = self.store.put_stream(stream, **kwargs)
            calls.append(stored.key)
            if len(calls) == 1:
                with session_scope(session_factory) as session:
                    (export,) = session.scalars(select(Export).where(Export.run_id == small_run.run_id))
                    assert export.status == "running" and export.storage_key is None
                raise RuntimeError("worker died")
            return stored

    monkeypatch.setattr(tasks, "get_store", DiesAfterStoring)
    headers = auth_headers(small_run.owner)
    export, data, _ = export_and_download(client, headers, small_run.run_id, "unmatched", "csv")
    job = client.get(f"{API}/jobs/{export['job_id']}", headers=headers).json()
    assert job["attempts"] == 2 and job["status"] == "succeeded"
    assert len(calls) == 2 and calls[0] == calls[1]  # the same content both times
    assert export["sha256"] == hashlib.sha256(data).hexdigest()
