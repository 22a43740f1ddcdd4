"""Helpers for dataset tests: upload through the API and wait for the ingestion job (embedded worker)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from dataset_helpers import WAIT_S, datasets_url
from fastapi.testclient import TestClient
from httpx import Response

from recon.models import Project, User


@pytest.fixture
def upload(
    client: TestClient, auth_headers: Callable[[User | str], dict[str, str]]
) -> Callable[..., Response]:
    """upload(user, project, data, filename=..., mapping=..., read_options=..., headers=..., params=...)."""

    def send(
        user: User,
        project: Project | str,
        data: bytes,
        *,
        filename: str = "ledger.csv",
        name: str | None = None,
        mapping: dict[str, Any] | str | None = None,
        read_options: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Response:
        form: dict[str, str] = {}
        if name is not None:
            form["name"] = name
        if mapping is not None:
            form["mapping"] = mapping if isinstance(mapping, str) else json.dumps(mapping)
        if read_options is not None:
            form["read_options"] = json.dumps(read_options)
        return client.post(
            datasets_url(project),
            files={"file": (filename, data, "application/octet-stream")},
            data=form,
            headers={**auth_headers(user), **(headers or {})},
            params=params,
        )

    return send


@pytest.fixture
def wait_dataset(
    client: TestClient, auth_headers: Callable[[User | str], dict[str, str]]
) -> Callable[..., dict[str, Any]]:
    """wait_dataset(user, project_id, dataset_id) -> the dataset once it is ready or failed."""

    def wait(
        user: User, project_id: str, dataset_id: str, *, until: tuple[str, ...] = ("ready", "failed")
    ) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_S
        while True:
            response = client.get(f"{datasets_url(project_id)}/{dataset_id}", headers=auth_headers(user))
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if body["status"] in until:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"dataset still {body['status']} after {WAIT_S}s: {body}")
            time.sleep(0.05)

    return wait
