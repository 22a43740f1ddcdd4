"""GET /projects/{id}/audit (filters, keyset pages, tenancy) and /audit/verify."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from recon.audit.service import record_event
from recon.core.db import SessionFactory, session_scope
from recon.models import Project, Role, User


def _seed(session_factory: SessionFactory, project: Project, actor: User) -> list[str]:
    ids = []
    with session_scope(session_factory) as s:
        for action, entity in [
            ("ruleset.created", "rs1"),
            ("ruleset.version_created", "rs1"),
            ("dataset.uploaded", "d1"),
            ("ruleset.version_created", "rs1"),
            ("dataset.deleted", "d1"),
        ]:
            event = record_event(
                s,
                action=action,
                actor_id=actor.id,
                project_id=project.id,
                entity_type=action.split(".")[0],
                entity_id=entity,
            )
            ids.append(event.id)
    return ids


def test_list_filters_and_pages(
    client: TestClient,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User], dict[str, str]],
) -> None:
    project = make_project()
    viewer = make_user(role=Role.VIEWER, project=project)
    ids = _seed(session_factory, project, viewer)
    _seed(session_factory, make_project(), viewer)  # another project's events never show
    url = f"/api/v1/projects/{project.id}/audit"
    headers = auth_headers(viewer)

    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = client.get(url, params=params, headers=headers).json()
        seen += [e["id"] for e in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]

    body = client.get(url, params={"action": "ruleset.", "order": "asc"}, headers=headers).json()
    assert [e["action"] for e in body["items"]] == [
        "ruleset.created",
        "ruleset.version_created",
        "ruleset.version_created",
    ]
    assert [e["seq"] for e in body["items"]] == [1, 2, 4]
    body = client.get(url, params={"action": "dataset.deleted"}, headers=headers).json()
    assert [e["id"] for e in body["items"]] == [ids[4]]
    body = client.get(url, params={"entity_type": "dataset", "entity_id": "d1"}, headers=headers).json()
    assert len(body["items"]) == 2
    assert client.get(url, params={"actor_id": "nobody"}, headers=headers).json()["items"] == []

    first = client.get(url, params={"order": "asc", "limit": 1}, headers=headers).json()["items"][0]
    after = client.get(url, params={"since": first["occurred_at"]}, headers=headers).json()["items"]
    assert ids[0] in [e["id"] for e in after]
    before = client.get(url, params={"until": first["occurred_at"]}, headers=headers).json()["items"]
    assert before == []

    bad = client.get(url, params={"since": "yesterday"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.since"


def test_audit_is_hidden_from_non_members(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User], dict[str, str]],
) -> None:
    project = make_project()
    stranger = make_user()
    for path in ("audit", "audit/verify"):
        response = client.get(f"/api/v1/projects/{project.id}/{path}", headers=auth_headers(stranger))
        assert response.status_code == 404
    assert client.get(f"/api/v1/projects/{project.id}/audit").status_code == 401


def test_no_route_writes_events(client: TestClient, make_project: Callable[..., Project]) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    audit_ops = {(p, m) for p, ops in paths.items() if "/audit" in p for m in ops}
    assert {m for _, m in audit_ops} == {"get"}


def test_verify_names_the_tampered_event(
    client: TestClient,
    db_engine: Engine,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User], dict[str, str]],
) -> None:
    project = make_project()
    viewer = make_user(role=Role.VIEWER, project=project)
    ids = _seed(session_factory, project, viewer)
    url = f"/api/v1/projects/{project.id}/audit/verify"
    body = client.get(url, headers=auth_headers(viewer)).json()
    assert body["ok"] is True and body["events_checked"] == 5
    assert body["head"]["seq"] == 5 and len(body["head"]["hash"]) == 64

    with db_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("UPDATE audit_events SET actor_id = 'someone-else' WHERE id = :id"), {"id": ids[3]})

    body = client.get(url, headers=auth_headers(viewer)).json()
    assert body["ok"] is False
    assert body["first_broken_event_id"] == ids[3]
    assert "modified" in body["reason"]
