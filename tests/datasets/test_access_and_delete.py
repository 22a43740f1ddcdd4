"""Who may see and change datasets; listing; deletion (refused while a run uses it: test_in_use.py)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from dataset_helpers import LEDGER_CSV, datasets_url
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from recon.core.db import SessionFactory, session_scope
from recon.models import DatasetRecord, DatasetRejection, Project, User
from recon.models.audit import AuditEvent

Headers = Callable[[User | str], dict[str, str]]


@pytest.fixture
def ready_dataset(
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    upload: Callable[..., Any],
    wait_dataset: Callable[..., dict[str, Any]],
) -> tuple[Project, User, dict[str, Any]]:
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    created = upload(preparer, project, LEDGER_CSV + b"bad,row\n").json()
    return project, preparer, wait_dataset(preparer, project.id, created["id"])


def test_another_tenant_gets_404_everywhere(
    client: TestClient,
    make_user: Callable[..., User],
    auth_headers: Headers,
    upload: Callable[..., Any],
    ready_dataset: tuple[Project, User, dict[str, Any]],
) -> None:
    project, _, dataset = ready_dataset
    stranger = make_user()  # another organisation
    headers = auth_headers(stranger)
    url = f"{datasets_url(project)}/{dataset['id']}"

    for path in ("", "/rejections", "/preview", "/records"):
        assert client.get(url + path, headers=headers).status_code == 404, path
    assert client.get(datasets_url(project), headers=headers).status_code == 404
    assert client.delete(url, headers=headers).status_code == 404
    assert client.put(f"{url}/mapping", json={"mapping": {}}, headers=headers).status_code == 404
    assert upload(stranger, project, LEDGER_CSV).status_code == 404


def test_a_dataset_id_of_another_project_is_404(
    client: TestClient,
    make_project: Callable[..., Project],
    auth_headers: Headers,
    ready_dataset: tuple[Project, User, dict[str, Any]],
    session_factory: SessionFactory,
) -> None:
    _, preparer, dataset = ready_dataset
    with session_scope(session_factory) as session:
        preparer_row = session.get(User, preparer.id)
        assert preparer_row is not None
    own_other = make_project(owner=preparer_row)  # the caller's own project, not the dataset's

    response = client.get(
        f"{datasets_url(own_other)}/{dataset['id']}/records", headers=auth_headers(preparer)
    )

    assert response.status_code == 404


def test_viewer_reads_but_cannot_upload_remap_or_delete(
    client: TestClient,
    make_user: Callable[..., User],
    auth_headers: Headers,
    upload: Callable[..., Any],
    ready_dataset: tuple[Project, User, dict[str, Any]],
) -> None:
    project, _, dataset = ready_dataset
    viewer = make_user(role="viewer", project=project)
    headers = auth_headers(viewer)
    url = f"{datasets_url(project)}/{dataset['id']}"

    assert client.get(url, headers=headers).status_code == 200
    assert client.get(f"{url}/rejections", headers=headers).json()["items"][0]["row"] == 4
    assert upload(viewer, project, LEDGER_CSV).status_code == 403
    assert client.put(f"{url}/mapping", json={"mapping": {}}, headers=headers).status_code == 403
    assert client.delete(url, headers=headers).status_code == 403


def test_list_is_newest_first_with_status_filter_and_cursor(
    client: TestClient,
    auth_headers: Headers,
    upload: Callable[..., Any],
    wait_dataset: Callable[..., dict[str, Any]],
    ready_dataset: tuple[Project, User, dict[str, Any]],
) -> None:
    project, preparer, first = ready_dataset
    second = upload(preparer, project, b"id,amount\nZ,1.00\n", filename="two.csv").json()
    failing = upload(preparer, project, b"when,what\n1,2\n", filename="noid.csv").json()
    wait_dataset(preparer, project.id, second["id"])
    wait_dataset(preparer, project.id, failing["id"])
    headers = auth_headers(preparer)

    page = client.get(datasets_url(project), params={"limit": 2}, headers=headers).json()
    rest = client.get(
        datasets_url(project), params={"limit": 2, "cursor": page["next_cursor"]}, headers=headers
    )
    failed = client.get(datasets_url(project), params={"status": "failed"}, headers=headers).json()
    bad_status = client.get(datasets_url(project), params={"status": "done"}, headers=headers)

    ids = [d["id"] for d in page["items"] + rest.json()["items"]]
    assert ids == [failing["id"], second["id"], first["id"]]
    assert [d["id"] for d in failed["items"]] == [failing["id"]]
    assert "no id column" in failed["items"][0]["error"]
    assert bad_status.status_code == 422


def test_delete_removes_dataset_records_and_rejections_and_is_audited(
    client: TestClient,
    auth_headers: Headers,
    ready_dataset: tuple[Project, User, dict[str, Any]],
    session_factory: SessionFactory,
) -> None:
    project, preparer, dataset = ready_dataset
    url = f"{datasets_url(project)}/{dataset['id']}"

    response = client.delete(url, headers=auth_headers(preparer))

    assert response.status_code == 204
    assert client.get(url, headers=auth_headers(preparer)).status_code == 404
    with session_scope(session_factory) as session:
        for model in (DatasetRecord, DatasetRejection):
            left = session.scalar(
                select(func.count()).select_from(model).where(model.dataset_id == dataset["id"])
            )
            assert left == 0
        event = session.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_id == dataset["id"], AuditEvent.action == "dataset.deleted"
            )
        ).one()
        assert event.data["sha256"] == dataset["sha256"]


def _forged(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "values",
    [["abc"], [None], [True], [1.5], [10**30], [{"$dec": "1.5"}], [{"$d": "2024-01-01"}]],
)
def test_forged_record_cursors_are_422_not_500(
    client: TestClient,
    auth_headers: Headers,
    ready_dataset: tuple[Project, User, dict[str, Any]],
    values: list[Any],
) -> None:
    project, preparer, dataset = ready_dataset
    url = f"{datasets_url(project)}/{dataset['id']}"

    for path in ("/records", "/rejections"):
        response = client.get(url + path, params={"cursor": _forged(values)}, headers=auth_headers(preparer))
        assert response.status_code == 422, (path, response.text)
        assert response.json()["errors"][0]["field"] == "query.cursor"
    forged = {"cursor": _forged(["x", "y"])}
    listed = client.get(datasets_url(project), params=forged, headers=auth_headers(preparer))
    assert listed.status_code == 422
