"""A project-scoped API key (issue 10, row 8) sees and creates nothing outside its project, on SQLite and
PostgreSQL: the project list shows only it, other projects answer 404, creating a project and the
organisation's user administration answer 403."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from hostile_helpers import assert_still_ready

from recon.models import Project, User


def test_a_project_key_sees_and_creates_only_inside_its_project(
    client: TestClient,
    make_user: Callable[..., User],
    make_project: Callable[..., Project],
    auth_headers: Callable[[User], dict[str, str]],
) -> None:
    admin = make_user(is_superuser=True)
    mine, other = make_project(owner=admin), make_project(owner=admin)
    created = client.post(
        "/api/v1/auth/api-keys", headers=auth_headers(admin), json={"name": "ci", "project_id": mine.id}
    )
    assert created.status_code == 201, created.text
    key = {"X-API-Key": created.json()["key"]}

    listed = client.get("/api/v1/projects", headers=key)
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()["items"]] == [mine.id]
    assert client.get(f"/api/v1/projects/{mine.id}", headers=key).status_code == 200
    assert client.get(f"/api/v1/projects/{other.id}", headers=key).status_code == 404
    assert client.get(f"/api/v1/projects/{other.id}/datasets", headers=key).status_code == 404

    refused = client.post("/api/v1/projects", headers=key, json={"name": "sneaky"})
    assert refused.status_code == 403, refused.text
    assert client.get("/api/v1/users", headers=key).status_code == 403
    invite = {"email": "new-person@example.com", "full_name": "New"}
    assert client.post("/api/v1/users", headers=key, json=invite).status_code == 403
    admin_view = client.get("/api/v1/projects", headers=auth_headers(admin)).json()["items"]
    assert sorted(p["id"] for p in admin_view) == sorted([mine.id, other.id])  # nothing was created

    unrestricted = client.post("/api/v1/auth/api-keys", headers=auth_headers(admin), json={"name": "all"})
    everything = {"X-API-Key": unrestricted.json()["key"]}
    assert len(client.get("/api/v1/projects", headers=everything).json()["items"]) == 2
    assert client.post("/api/v1/projects", headers=everything, json={"name": "fine"}).status_code == 201
    assert_still_ready(client)
