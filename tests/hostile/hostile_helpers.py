"""Helpers of the hostile-input suite: each case asserts its status code and that the server stays ready."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient


def assert_still_ready(client: TestClient) -> None:
    ready = client.get("/ready")
    assert ready.status_code == 200, ready.text


def escaped_json(body: object) -> dict[str, object]:
    """Request kwargs sending `body` as ASCII JSON: NUL and lone surrogates travel as \\u escapes (httpx's
    `json=` would fail to encode a lone surrogate)."""
    return {"content": json.dumps(body), "headers": {"Content-Type": "application/json"}}
