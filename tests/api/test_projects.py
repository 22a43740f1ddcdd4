"""Projects and members: CRUD, roles, tenant isolation, pagination."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from recon.models import Project, Role, User

Headers = Callable[[User | str], dict[str, str]]


def test_create_get_update_delete(
    client: TestClient, make_user: Callable[..., User], auth_headers: Headers
) -> None:
    user = make_user()
    headers = auth_headers(user)
    created = client.post(
        "/api/v1/projects", json={"name": "Bank vs GL", "description": "daily"}, headers=headers
    )
    assert created.status_code == 201, created.text
    project = created.json()
    assert project["role"] == "owner"
    assert project["org_id"] == user.org_id
    assert project["settings"]["require_approval"] is True
    assert project["version"] == 1

    url = f"/api/v1/projects/{project['id']}"
    assert client.get(url, headers=headers).json()["name"] == "Bank vs GL"

    patched = client.patch(
        url,
        json={"name": "Bank vs GL (EUR)", "settings": {"require_approval": False}, "version": 1},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Bank vs GL (EUR)"
    assert patched.json()["settings"]["require_approval"] is False
    assert patched.json()["version"] == 2
    assert patched.json()["description"] == "daily"  # untouched

    stale = client.patch(url, json={"name": "lost update", "version": 1}, headers=headers)
    assert stale.status_code == 409
    assert stale.json()["type"] == "https://recon.dev/problems/version-conflict"

    unknown_setting = client.patch(url, json={"settings": {"no_such_switch": True}}, headers=headers)
    assert unknown_setting.status_code == 422

    assert client.delete(url, headers=headers).status_code == 204
    assert client.get(url, headers=headers).status_code == 404
    assert client.get("/api/v1/projects", headers=headers).json()["items"] == []


def test_other_tenant_sees_404_everywhere(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
) -> None:
    project = make_project()
    stranger = make_user()  # another organisation
    colleague_not_member = make_user(org=project.org_id)
    headers = auth_headers(stranger)
    base = f"/api/v1/projects/{project.id}"
    assert client.get(base, headers=headers).status_code == 404
    assert client.patch(base, json={"name": "x"}, headers=headers).status_code == 404
    assert client.delete(base, headers=headers).status_code == 404
    assert client.get(f"{base}/members", headers=headers).status_code == 404
    assert (
        client.post(
            f"{base}/members", json={"user_id": stranger.id, "role": "viewer"}, headers=headers
        ).status_code
        == 404
    )
    assert client.get("/api/v1/projects", headers=headers).json()["items"] == []
    assert client.get(base, headers=auth_headers(colleague_not_member)).status_code == 404


def test_cannot_add_user_of_another_org(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
) -> None:
    project = make_project()
    admin = make_user(role="admin", project=project)
    outsider = make_user()
    members = f"/api/v1/projects/{project.id}/members"
    by_id = client.post(members, json={"user_id": outsider.id, "role": "viewer"}, headers=auth_headers(admin))
    assert by_id.status_code == 404
    by_email = client.post(
        members, json={"email": outsider.email, "role": "viewer"}, headers=auth_headers(admin)
    )
    assert by_email.status_code == 404


@pytest.mark.parametrize(
    ("method", "suffix", "minimum"),
    [
        ("get", "", Role.VIEWER),
        ("get", "/members", Role.VIEWER),
        ("patch", "", Role.ADMIN),
        ("post", "/members", Role.ADMIN),
        ("delete", "", Role.OWNER),
    ],
)
def test_role_enforcement(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
    method: str,
    suffix: str,
    minimum: Role,
) -> None:
    project = make_project()
    for role in Role:
        user = make_user(role=role, project=project)
        body = None
        if method == "patch":
            body = {"description": f"changed by {role}"}
        elif method == "post":
            body = {"email": make_user(org=project.org_id).email, "role": "viewer"}
        kwargs = {"json": body} if body is not None else {}
        response = client.request(
            method.upper(), f"/api/v1/projects/{project.id}{suffix}", headers=auth_headers(user), **kwargs
        )
        if role.at_least(minimum):
            assert response.status_code < 400, (role, response.text)
            if method == "delete":
                return
        else:
            assert response.status_code == 403, (role, response.text)
            assert response.json()["type"] == "https://recon.dev/problems/forbidden"


def test_members_lifecycle_and_owner_rules(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
) -> None:
    project = make_project()
    owner_id = project.created_by_id
    admin = make_user(role="admin", project=project)
    colleague = make_user(org=project.org_id, full_name="Pat Preparer")
    members = f"/api/v1/projects/{project.id}/members"
    admin_h = auth_headers(admin)

    added = client.post(members, json={"email": colleague.email.upper(), "role": "preparer"}, headers=admin_h)
    assert added.status_code == 201, added.text
    assert {k: added.json()[k] for k in ("user_id", "role", "full_name")} == {
        "user_id": colleague.id,
        "role": "preparer",
        "full_name": "Pat Preparer",
    }
    again = client.post(members, json={"user_id": colleague.id, "role": "viewer"}, headers=admin_h)
    assert again.status_code == 409

    # admins manage non-owner roles but cannot grant or touch the owner role
    promoted = client.patch(f"{members}/{colleague.id}", json={"role": "approver"}, headers=admin_h)
    assert promoted.json()["role"] == "approver"
    assert (
        client.patch(f"{members}/{colleague.id}", json={"role": "owner"}, headers=admin_h).status_code == 403
    )
    assert client.delete(f"{members}/{owner_id}", headers=admin_h).status_code == 403

    # the last owner can neither be demoted nor removed, even by themselves
    assert owner_id is not None
    owner_h = auth_headers(owner_id)
    assert client.patch(f"{members}/{owner_id}", json={"role": "admin"}, headers=owner_h).status_code == 409
    assert client.delete(f"{members}/{owner_id}", headers=owner_h).status_code == 409
    # with a second owner, the first can step down
    assert (
        client.patch(f"{members}/{colleague.id}", json={"role": "owner"}, headers=owner_h).status_code == 200
    )
    assert client.patch(f"{members}/{owner_id}", json={"role": "admin"}, headers=owner_h).status_code == 200

    listed = client.get(members, headers=admin_h).json()
    assert {(m["user_id"], m["role"]) for m in listed["items"]} == {
        (owner_id, "admin"),
        (admin.id, "admin"),
        (colleague.id, "owner"),
    }
    assert client.delete(f"{members}/{admin.id}", headers=admin_h).status_code == 204
    assert client.get(f"/api/v1/projects/{project.id}", headers=admin_h).status_code == 404
    assert client.delete(f"{members}/{admin.id}", headers=owner_h).status_code == 404


def test_list_is_keyset_paginated_and_complete(
    client: TestClient,
    make_user: Callable[..., User],
    make_project: Callable[..., Project],
    auth_headers: Headers,
) -> None:
    user = make_user()
    created = {make_project(owner=user).id for _ in range(7)}
    make_project()  # someone else's
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/projects", params=params, headers=auth_headers(user)).json()
        seen.extend(item["id"] for item in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == created

    bad = client.get("/api/v1/projects", params={"cursor": "not-a-cursor"}, headers=auth_headers(user))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.cursor"


def test_member_list_pagination(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
) -> None:
    project = make_project()
    viewers = {make_user(role="viewer", project=project).id for _ in range(4)}
    assert project.created_by_id is not None
    headers = auth_headers(project.created_by_id)
    first = client.get(f"/api/v1/projects/{project.id}/members?limit=2", headers=headers).json()
    second = client.get(
        f"/api/v1/projects/{project.id}/members",
        params={"limit": 2, "cursor": first["next_cursor"]},
        headers=headers,
    ).json()
    third = client.get(
        f"/api/v1/projects/{project.id}/members",
        params={"limit": 2, "cursor": second["next_cursor"]},
        headers=headers,
    ).json()
    ids = [m["user_id"] for m in first["items"] + second["items"] + third["items"]]
    assert third["next_cursor"] is None
    assert sorted(ids) == sorted([*viewers, project.created_by_id])


def test_disabled_user_token_is_rejected(
    client: TestClient, make_user: Callable[..., User], auth_headers: Headers
) -> None:
    user = make_user(is_active=False)
    assert client.get("/api/v1/projects", headers=auth_headers(user)).status_code == 401


def test_project_and_member_changes_are_audited(
    client: TestClient, make_user: Callable[..., User], auth_headers: Headers
) -> None:
    owner = make_user()
    colleague = make_user(org=owner.org_id)
    headers = auth_headers(owner)
    project = client.post("/api/v1/projects", json={"name": "Audited"}, headers=headers).json()
    url = f"/api/v1/projects/{project['id']}"
    assert client.patch(url, json={"description": "changed"}, headers=headers).status_code == 200
    added = client.post(f"{url}/members", json={"user_id": colleague.id, "role": "viewer"}, headers=headers)
    assert added.status_code == 201, added.text
    member_url = f"{url}/members/{colleague.id}"
    assert client.patch(member_url, json={"role": "preparer"}, headers=headers).status_code == 200
    assert client.delete(member_url, headers=headers).status_code == 204

    events = client.get(f"{url}/audit", params={"limit": 100}, headers=headers).json()["items"]
    by_action = {e["action"]: e for e in events}
    assert set(by_action) >= {
        "project.created",
        "project.updated",
        "member.added",
        "member.updated",
        "member.removed",
    }
    assert by_action["project.updated"]["actor_id"] == owner.id
    assert by_action["project.updated"]["data"] == {"description": "changed"}
    assert by_action["member.updated"]["data"] == {"role": "preparer", "previous_role": "viewer"}
    assert by_action["member.removed"]["entity_id"] == colleague.id
    assert client.get(f"{url}/audit/verify", headers=headers).json()["ok"] is True
