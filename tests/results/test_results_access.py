"""Tenant isolation of runs and results: another organisation, or a non-member of the same organisation,
gets 404 for every run and results route (never 403, never data); a viewer reads everything; ids of another
project's run do not leak through this project's routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from run_helpers import Headers, Scene, wait_run, walk

from recon.models import Project, Role, User


def _routes(run: dict[str, Any], group_id: int, item_id: int) -> list[tuple[str, str]]:
    base = f"/api/v1/runs/{run['id']}"
    return [
        ("GET", base),
        ("GET", f"{base}/events"),
        ("GET", f"{base}/groups"),
        ("GET", f"{base}/groups/{group_id}"),
        ("GET", f"{base}/unmatched?side=left"),
        ("GET", f"{base}/items/{item_id}"),
        ("POST", f"{base}/cancel"),
        ("POST", f"{base}/retry"),
        ("POST", f"{base}/rerun"),
    ]


def test_other_tenants_get_404_everywhere(
    client: TestClient,
    scene: Scene,
    run: dict[str, Any],
    make_user: Callable[..., User],
    make_project: Callable[..., Project],
    auth_headers: Headers,
) -> None:
    group = client.get(f"/api/v1/runs/{run['id']}/groups", params={"limit": 1}, headers=scene.headers).json()
    group_id = group["items"][0]["id"]
    item_id = group["items"][0]["members"][0]["id"]
    stranger = auth_headers(make_user())  # another organisation
    same_org = make_user(org=scene.project.org_id)  # same organisation, not a member
    elsewhere = make_project(owner=same_org)  # ... but owner of another project
    outsiders = [stranger, auth_headers(same_org)]
    for headers in outsiders:
        for method, url in _routes(run, group_id, item_id):
            response = client.request(method, url, headers=headers)
            assert response.status_code == 404, (method, url, response.status_code)
            assert response.json()["detail"] == "project not found"
        listing = client.get(f"/api/v1/projects/{scene.project.id}/runs", headers=headers)
        assert listing.status_code == 404
    own = client.get(f"/api/v1/projects/{elsewhere.id}/runs", headers=auth_headers(same_org)).json()
    assert own["items"] == []  # the other project's runs are not listed in one's own project


def test_viewer_reads_results_but_cannot_change_runs(
    client: TestClient,
    scene: Scene,
    run: dict[str, Any],
    make_user: Callable[..., User],
    auth_headers: Headers,
) -> None:
    viewer = auth_headers(make_user(role=Role.VIEWER, project=scene.project))
    page = client.get(f"/api/v1/runs/{run['id']}/groups", params={"limit": 2}, headers=viewer)
    assert page.status_code == 200 and len(page.json()["items"]) == 2
    unmatched = client.get(f"/api/v1/runs/{run['id']}/unmatched", params={"side": "right"}, headers=viewer)
    assert unmatched.status_code == 200
    for action in ("cancel", "retry", "rerun"):
        assert client.post(f"/api/v1/runs/{run['id']}/{action}", headers=viewer).status_code == 403


def test_group_and_item_ids_are_scoped_to_the_run(
    client: TestClient, scene: Scene, run: dict[str, Any]
) -> None:
    second = client.post(
        f"/api/v1/projects/{scene.project.id}/runs", json=scene.run_body(), headers=scene.headers
    )
    other = wait_run(client, scene.headers, second.json()["id"])
    group = client.get(
        f"/api/v1/runs/{other['id']}/groups", params={"limit": 1}, headers=scene.headers
    ).json()
    gid, iid = group["items"][0]["id"], group["items"][0]["members"][0]["id"]
    assert client.get(f"/api/v1/runs/{run['id']}/groups/{gid}", headers=scene.headers).status_code == 404
    assert client.get(f"/api/v1/runs/{run['id']}/items/{iid}", headers=scene.headers).status_code == 404
    assert client.get(f"/api/v1/runs/{other['id']}/groups/{gid}", headers=scene.headers).status_code == 200
    # The second run's group ids no longer equal their seq numbers: walks still visit everything once.
    groups = sum(p["groups"] for p in other["summary"]["passes"])
    assert gid != group["items"][0]["seq"]
    for sort in ("seq", "-seq", "amount"):
        walked = walk(client, scene.headers, f"/api/v1/runs/{other['id']}/groups", limit=97, sort=sort)
        assert len({g["id"] for g in walked}) == len(walked) == groups
    left = other["summary"]["left"]
    unmatched = walk(client, scene.headers, f"/api/v1/runs/{other['id']}/unmatched", side="left", limit=9)
    assert len({i["id"] for i in unmatched}) == len(unmatched) == left["unmatched"] + left["rejected"]
