"""A feed's bad mapping or read options: 422 naming the field under `body`, the detail as the API has always
worded it, on create and on change (the service names the command's fields; the endpoint places them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from feed_helpers import API

from recon.models import Project, Role, User

KNOWN = "ext_id, date, value_date, amount, currency, reference, counterparty, description"
CASES = [
    (
        {"mapping": {"amount": "a", "nosuch": "b"}},
        "body.mapping.nosuch: unknown canonical field; known: " + KNOWN,
        [{"field": "body.mapping.nosuch", "message": "unknown canonical field; known: " + KNOWN}],
    ),
    (
        {"mapping": {"amount": "a", "date": "a"}},
        "body.mapping.date: column 'a' is already mapped to amount",
        [{"field": "body.mapping.date", "message": "column 'a' is already mapped to amount"}],
    ),
    (
        {"read_options": {"bogus key": 1}},
        "body.read_options.bogus key: unknown read option",
        [{"field": "body.read_options", "message": "body.read_options.bogus key: unknown read option"}],
    ),
    (
        {"read_options": {"null_values": [1]}},
        "body.read_options.null_values: must be a string or a list of strings (got [1])",
        [
            {
                "field": "body.read_options",
                "message": "body.read_options.null_values: must be a string or a list of strings (got [1])",
            }
        ],
    ),
]


@pytest.fixture
def feeds_url(
    make_project: Callable[..., Project], make_user: Callable[..., User], auth_headers: Callable[..., Any]
) -> tuple[str, dict[str, str]]:
    project = make_project()
    return f"{API}/projects/{project.id}/feeds", auth_headers(make_user(role=Role.ADMIN, project=project))


@pytest.mark.parametrize(("change", "detail", "errors"), CASES)
def test_bad_feed_input_names_the_body_field(
    client: TestClient,
    feeds_url: tuple[str, dict[str, str]],
    change: dict[str, Any],
    detail: str,
    errors: list[dict[str, str]],
) -> None:
    url, headers = feeds_url
    created = client.post(url, json={"name": "bad", "path": "bad", **change}, headers=headers)
    assert created.status_code == 422, created.text
    assert (created.json()["detail"], created.json()["errors"]) == (detail, errors)
    feed = client.post(url, json={"name": "ok", "path": "ok"}, headers=headers).json()
    changed = client.patch(
        f"{url}/{feed['id']}", json={"version": feed["version"], **change}, headers=headers
    )
    assert changed.status_code == 422, changed.text
    assert (changed.json()["detail"], changed.json()["errors"]) == (detail, errors)
