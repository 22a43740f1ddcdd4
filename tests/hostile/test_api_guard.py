"""Request guard (issue 10, rows 3, 5, 7): NUL and lone surrogates, deep nesting, oversized bodies and headers
are refused with 4xx before any route parses them, on SQLite and PostgreSQL, and the server stays ready."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hostile_helpers import assert_still_ready, escaped_json

from recon.models import Project, User
from shared_values import TEST_PASSWORD

LOGIN = "/api/v1/auth/login"
MIB = 1024 * 1024


@pytest.fixture
def owner(make_user: Callable[..., User], make_project: Callable[..., Project]) -> tuple[User, Project]:
    user = make_user()
    return user, make_project(owner=user)


def _fields(response: Any) -> list[str]:
    return [error["field"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a\u0000@example.com", "password": TEST_PASSWORD}, "body.email"),
        ({"email": "a@example.com", "password": "pass\ud800word-long"}, "body.password"),
    ],
)
def test_nul_and_lone_surrogates_in_login_are_422_naming_the_field(
    client: TestClient, body: dict[str, str], field: str
) -> None:
    # the JSON escapes \u0000 and \ud800 stay escapes on the wire, as an attacker sends them
    response = client.post(LOGIN, **escaped_json(body))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert _fields(response) == [field]
    assert_still_ready(client)


def test_nul_in_names_query_and_path_is_422(
    client: TestClient, owner: tuple[User, Project], auth_headers: Callable[[User], dict[str, str]]
) -> None:
    user, project = owner
    headers = auth_headers(user)
    created = client.post("/api/v1/projects", headers=headers, json={"name": "evil\u0000name"})  # a raw NUL
    assert created.status_code == 422, created.text
    assert _fields(created) == ["body.name"]
    query = client.get("/api/v1/projects", headers=headers, params={"cursor": "x\x00y"})
    assert query.status_code == 422, query.text
    assert _fields(query) == ["query.cursor"]
    path = client.get(f"/api/v1/projects/{project.id}%00", headers=headers)
    assert path.status_code == 422, path.text
    assert _fields(path) == ["path"]
    request = escaped_json({"name": {"nested": "\ud83d"}})
    key = client.post(
        "/api/v1/auth/api-keys", content=request["content"], headers={**headers, **request["headers"]}
    )
    assert key.status_code == 422, key.text
    assert _fields(key) == ["body.name.nested"]
    assert_still_ready(client)


def test_deep_json_bodies_are_422_not_recursion_errors(client: TestClient) -> None:
    for depth in (40, 20_000):
        body = '{"email": ' + "[" * depth + "]" * depth + ', "password": "x"}'
        response = client.post(LOGIN, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 422, response.text[:300]
        assert "nested deeper than 32 levels" in response.json()["detail"]
    assert_still_ready(client)


def test_form_fields_of_an_upload_refuse_deep_json_surrogates_and_nul(
    client: TestClient, owner: tuple[User, Project], auth_headers: Callable[[User], dict[str, str]]
) -> None:
    user, project = owner
    url = f"/api/v1/projects/{project.id}/datasets"
    csv = ("ledger.csv", b"id,amount\n1,2.00\n", "text/csv")
    cases = [
        ({"mapping": "[" * 20_000 + "]" * 20_000}, "body.mapping", "nested deeper"),
        ({"read_options": '{"delimiter": "\\ud800"}'}, "body.read_options.delimiter", "lone surrogate"),
        ({"mapping": '{"amount\\u0000": "amount"}'}, "body.mapping.amount\\u0000", "NUL"),
    ]
    for data, field, words in cases:
        response = client.post(url, headers=auth_headers(user), data=data, files={"file": csv})
        assert response.status_code == 422, response.text[:300]
        assert _fields(response) == [field]
        assert words in response.json()["detail"]
    assert client.get(url, headers=auth_headers(user)).json()["items"] == []  # nothing half-stored
    assert_still_ready(client)


def test_yaml_bomb_of_brackets_to_validate_is_422(
    client: TestClient, owner: tuple[User, Project], auth_headers: Callable[[User], dict[str, str]]
) -> None:
    user, project = owner
    url = f"/api/v1/projects/{project.id}/rulesets/validate"
    for text in ("[" * 100_000, "- " * 50_000 + "x", '{"a": ' * 30_000):
        response = client.post(url, headers=auth_headers(user), json={"text": text})
        assert response.status_code in (200, 422), response.text[:300]
        answer = response.json()
        problems = answer.get("problems") or answer.get("errors") or []
        assert "nested deeper than 64 levels" in str(problems) + str(answer.get("detail")), answer
    assert_still_ready(client)


def test_a_body_past_the_limit_is_413_before_it_is_read(client: TestClient) -> None:
    big = b'{"email": "' + b"a" * (2 * MIB) + b'", "password": "x"}'
    declared = client.post(LOGIN, content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413, declared.text
    assert "limit of 1048576" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: cut while it streams
        yield b'{"email": "'
        for _ in range(64):
            yield b"a" * 65_536
        yield b'"}'

    streamed = client.post(LOGIN, content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413, streamed.text
    assert_still_ready(client)


def test_oversized_headers_are_431(client: TestClient) -> None:
    response = client.get("/api/v1/projects", headers={"X-Padding": "a" * 40_000})
    assert response.status_code == 431, response.text
    assert "limit of 32768" in response.json()["detail"]
    assert_still_ready(client)


def test_ordinary_unicode_and_controls_other_than_nul_pass(
    client: TestClient, owner: tuple[User, Project], auth_headers: Callable[[User], dict[str, str]]
) -> None:
    user, _project = owner
    name = "Überweisung \t Żółć 🧾 \x1b"
    created = client.post("/api/v1/projects", headers=auth_headers(user), json={"name": name})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == name
