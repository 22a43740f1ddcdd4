"""Rule sets over the API: create (v1), versions, reads, validation, idempotency, roles and tenancy."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from recon.core.db import SessionFactory, session_scope
from recon.demo.rules import demo_rules_text
from recon.engine import parse_rules
from recon.models import AuditEvent, Project, Role, RuleSetVersion, User

RULES = demo_rules_text()
RULES_V2 = RULES.replace("days: 3", "days: 5")
RULES_JSON = json.dumps(
    {
        "version": 1,
        "name": "json-rules",
        "left": {"id": "id"},
        "right": {"id": "id"},
        "passes": [
            {
                "name": "ref",
                "kind": "one_to_one",
                "match": [{"left": "reference", "right": "reference", "op": "equals"}],
            }
        ],
    }
)
TYPO = RULES.replace("op: tolerance, abs: 0.01", "op: tolerance, absolute: 0.01")
# Where the typo lands: the demo's pass with the amount tolerance (its position follows the demo rules).
TYPO_AT = next(
    f"passes[{i}].match[{j}]"
    for i, spec in enumerate(parse_rules(RULES).passes)
    for j, cond in enumerate(spec.match)
    if cond.op == "tolerance"
)

Headers = Callable[[User | str], dict[str, str]]


def _url(project: Project | str, suffix: str = "") -> str:
    pid = project if isinstance(project, str) else project.id
    return f"/api/v1/projects/{pid}/rulesets{suffix}"


@pytest.fixture
def team(make_project: Callable[..., Project], make_user: Callable[..., User]) -> dict[str, Any]:
    project = make_project()
    return {
        "project": project,
        "preparer": make_user(role=Role.PREPARER, project=project),
        "viewer": make_user(role=Role.VIEWER, project=project),
    }


def _create(
    client: TestClient, headers: dict[str, str], project: Project, name: str = "bank", text: str = RULES
) -> Any:
    return client.post(_url(project), json={"name": name, "text": text}, headers=headers)


def test_create_version_and_read(
    client: TestClient, team: dict[str, Any], auth_headers: Headers, session_factory: SessionFactory
) -> None:
    project, prep, view = team["project"], auth_headers(team["preparer"]), auth_headers(team["viewer"])
    created = _create(client, prep, project)
    assert created.status_code == 201, created.text
    body = created.json()
    rs_id = body["id"]
    assert body["latest_version"] == 1 and body["created_by_id"] == team["preparer"].id
    latest = body["latest"]
    assert (latest["version"], latest["format"], latest["rules_name"]) == (1, "yaml", "demo-ledger-vs-bank")
    assert latest["text"] == RULES and len(latest["sha256"]) == 64

    v2 = client.post(_url(project, f"/{rs_id}/versions"), json={"text": RULES_V2}, headers=prep)
    assert v2.status_code == 201, v2.text
    assert v2.json()["version"] == 2
    v3 = client.post(_url(project, f"/{rs_id}/versions"), json={"text": RULES_JSON}, headers=prep)
    assert (v3.json()["version"], v3.json()["format"], v3.json()["rules_name"]) == (3, "json", "json-rules")

    one = client.get(_url(project, f"/{rs_id}"), headers=view).json()
    assert one["latest_version"] == 3 and one["latest"]["text"] == RULES_JSON
    assert client.get(_url(project, f"/{rs_id}/versions/2"), headers=view).json()["text"] == RULES_V2
    versions = client.get(_url(project, f"/{rs_id}/versions"), params={"limit": 2}, headers=view).json()
    assert [v["version"] for v in versions["items"]] == [1, 2] and "text" not in versions["items"][0]
    rest = client.get(
        _url(project, f"/{rs_id}/versions"), params={"cursor": versions["next_cursor"]}, headers=view
    ).json()
    assert [v["version"] for v in rest["items"]] == [3] and rest["next_cursor"] is None

    missing = client.get(_url(project, f"/{rs_id}/versions/9"), headers=view)
    assert missing.status_code == 404 and "latest is 3" in missing.json()["detail"]

    with session_scope(session_factory) as s:
        events = list(
            s.scalars(select(AuditEvent).where(AuditEvent.project_id == project.id).order_by(AuditEvent.seq))
        )
    assert [e.action for e in events] == [
        "ruleset.created",
        "ruleset.version_created",
        "ruleset.version_created",
        "ruleset.version_created",
    ]
    assert events[0].entity_id == rs_id and events[0].actor_id == team["preparer"].id
    assert [e.data["version"] for e in events[1:]] == [1, 2, 3]
    assert events[2].data["sha256"] == v2.json()["sha256"]


def test_list_is_keyset_paginated(client: TestClient, team: dict[str, Any], auth_headers: Headers) -> None:
    project, prep = team["project"], auth_headers(team["preparer"])
    ids = [_create(client, prep, project, name=f"rs{i}").json()["id"] for i in range(3)]
    first = client.get(_url(project), params={"limit": 2}, headers=auth_headers(team["viewer"])).json()
    second = client.get(
        _url(project), params={"limit": 2, "cursor": first["next_cursor"]}, headers=prep
    ).json()
    assert [r["id"] for r in first["items"] + second["items"]] == ids
    assert second["next_cursor"] is None


def test_invalid_rules_are_422_with_locations(
    client: TestClient, team: dict[str, Any], auth_headers: Headers
) -> None:
    project, prep = team["project"], auth_headers(team["preparer"])
    bad = _create(client, prep, project, text=TYPO)
    assert bad.status_code == 422
    problem = bad.json()
    assert problem["errors"] == [
        {"field": TYPO_AT, "message": "unknown key 'absolute'"},
        {
            "field": TYPO_AT,
            "message": "missing required key 'abs' or 'pct' (the allowed difference)",
        },
    ]
    syntax = _create(client, prep, project, text="passes: [")
    assert syntax.status_code == 422 and syntax.json()["errors"][0]["field"].startswith("line ")
    empty_doc = _create(client, prep, project, text="version: 1")
    assert {e["field"] for e in empty_doc.json()["errors"]} >= {"text"}

    rs_id = _create(client, prep, project).json()["id"]
    bad_version = client.post(_url(project, f"/{rs_id}/versions"), json={"text": TYPO}, headers=prep)
    assert bad_version.status_code == 422
    same = client.post(_url(project, f"/{rs_id}/versions"), json={"text": RULES}, headers=prep)
    assert same.status_code == 409 and "identical to version 1" in same.json()["detail"]
    assert client.get(_url(project, f"/{rs_id}"), headers=prep).json()["latest_version"] == 1

    duplicate = _create(client, prep, project)
    assert duplicate.status_code == 409 and "already exists" in duplicate.json()["detail"]
    unknown = client.post(_url(project), json={"name": "x", "text": RULES, "colour": 1}, headers=prep)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "body.colour"


def test_validate(client: TestClient, team: dict[str, Any], auth_headers: Headers) -> None:
    view = auth_headers(team["viewer"])
    ok = client.post(_url(team["project"], "/validate"), json={"text": RULES}, headers=view).json()
    assert ok["valid"] is True and ok["problems"] == [] and ok["name"] == "demo-ledger-vs-bank"
    assert "exact" in ok["plan"] and "batches" in ok["plan"]
    bad = client.post(_url(team["project"], "/validate"), json={"text": TYPO}, headers=view).json()
    assert bad["valid"] is False and bad["plan"] is None
    assert bad["problems"][0] == {"location": TYPO_AT, "message": "unknown key 'absolute'"}


def test_roles_and_tenancy(
    client: TestClient,
    team: dict[str, Any],
    auth_headers: Headers,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
) -> None:
    project, prep, view = team["project"], auth_headers(team["preparer"]), auth_headers(team["viewer"])
    assert _create(client, view, project).status_code == 403
    rs_id = _create(client, prep, project).json()["id"]
    assert (
        client.post(_url(project, f"/{rs_id}/versions"), json={"text": RULES_V2}, headers=view).status_code
        == 403
    )
    assert client.get(_url(project, f"/{rs_id}"), headers=view).status_code == 200

    other = make_project()
    outsider = auth_headers(make_user(role=Role.OWNER, project=other))
    assert client.get(_url(project, f"/{rs_id}"), headers=outsider).status_code == 404
    # The rule set id under the outsider's own project is not found either.
    assert client.get(_url(other, f"/{rs_id}"), headers=outsider).status_code == 404
    assert client.get(_url(other, f"/{rs_id}/versions/1"), headers=outsider).status_code == 404
    assert (
        client.post(_url(other, f"/{rs_id}/versions"), json={"text": RULES_V2}, headers=outsider).status_code
        == 404
    )


def test_idempotency_key(client: TestClient, team: dict[str, Any], auth_headers: Headers) -> None:
    project = team["project"]
    headers = {**auth_headers(team["preparer"]), "Idempotency-Key": "k-1"}
    first = _create(client, headers, project)
    again = _create(client, headers, project)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert _create(client, headers, project, name="other").status_code == 422

    rs_id = first.json()["id"]
    url = _url(project, f"/{rs_id}/versions")
    v2 = client.post(url, json={"text": RULES_V2}, headers={**headers, "Idempotency-Key": "v-1"})
    v2_again = client.post(url, json={"text": RULES_V2}, headers={**headers, "Idempotency-Key": "v-1"})
    assert (v2.status_code, v2_again.status_code) == (201, 200)
    assert v2_again.json()["id"] == v2.json()["id"]
    reused = client.post(url, json={"text": RULES_JSON}, headers={**headers, "Idempotency-Key": "v-1"})
    assert reused.status_code == 422 and "idempotency-key-reused" in reused.json()["type"]


def test_concurrent_versions_get_distinct_numbers(
    client: TestClient, team: dict[str, Any], auth_headers: Headers, session_factory: SessionFactory
) -> None:
    project, prep = team["project"], auth_headers(team["preparer"])
    rs_id = _create(client, prep, project).json()["id"]
    writers = 4
    barrier = threading.Barrier(writers)
    statuses: list[int] = []

    def save(i: int) -> None:
        barrier.wait()
        text = RULES.replace("max_group_size: 10", f"max_group_size: {11 + i}")
        statuses.append(
            client.post(_url(project, f"/{rs_id}/versions"), json={"text": text}, headers=prep).status_code
        )

    threads = [threading.Thread(target=save, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [201] * writers
    with session_scope(session_factory) as s:
        numbers = sorted(s.scalars(select(RuleSetVersion.version).where(RuleSetVersion.ruleset_id == rs_id)))
    assert numbers == list(range(1, writers + 2))
