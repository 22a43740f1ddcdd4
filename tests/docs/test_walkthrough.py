"""docs/walkthrough.md: every route its curl lines call exists with that method, and the upload lines send
JSON with --form-string (curl's -F would read the `;` inside as its own syntax)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

DOC = Path(__file__).resolve().parents[2] / "docs" / "walkthrough.md"
CALL = re.compile(r'curl -sf(?: -X (?P<method>[A-Z]+))? "\$BASE(?P<path>/[^"?]*)')


def _shape(path: str) -> str:
    return re.sub(r"\{[^}/]+\}|\$[A-Z0-9_]+", "{}", path)


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_every_walkthrough_route_is_in_the_api(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    routes = {
        (method.upper(), _shape(path.removeprefix("/api/v1")))
        for path, operations in schema["paths"].items()
        for method in operations
    }
    text = DOC.read_text()
    calls = {(m.group("method") or "GET", _shape(m.group("path"))) for m in CALL.finditer(text)}
    assert len(calls) >= 15, calls
    assert calls - routes == set()
    uploads = [line for line in text.splitlines() if "mapping=" in line or "read_options=" in line]
    assert uploads and all("--form-string" in line for line in uploads)
