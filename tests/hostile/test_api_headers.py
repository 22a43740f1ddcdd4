"""Security headers (issue 10, row 13), on SQLite and PostgreSQL: nosniff and frame protection on every
answer, no-store on token answers, a CSP on /api/docs that still lets the offline docs load."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from hostile_helpers import assert_still_ready

from recon.models import User
from shared_values import TEST_PASSWORD


def test_every_answer_has_nosniff_and_frame_protection(client: TestClient) -> None:
    for response in (
        client.get("/health"),
        client.get("/api/v1/projects"),  # 401 problem
        client.get("/api/v1/openapi.json"),
        client.get("/api/docs"),
        client.post("/api/v1/auth/login", json={"email": "x"}),  # 422 problem
    ):
        assert response.headers["X-Content-Type-Options"] == "nosniff", response.url
        assert response.headers["X-Frame-Options"] == "DENY", response.url
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], response.url
    assert client.get("/api/v1/projects").headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert_still_ready(client)


def test_token_answers_are_not_stored(client: TestClient, make_user: Callable[..., User]) -> None:
    user = make_user()
    login = client.post("/api/v1/auth/login", json={"email": user.email, "password": TEST_PASSWORD})
    assert login.status_code == 200
    assert login.headers["Cache-Control"] == "no-store"
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": login.json()["refresh_token"]})
    assert refreshed.status_code == 200
    assert refreshed.headers["Cache-Control"] == "no-store"
    headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    key = client.post("/api/v1/auth/api-keys", headers=headers, json={"name": "k"})
    assert key.status_code == 201 and key.headers["Cache-Control"] == "no-store"


def test_the_docs_csp_allows_exactly_the_docs_own_scripts_and_assets(client: TestClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    csp = dict(part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'none'" and csp["frame-ancestors"] == "'none'"
    inline = re.findall(r"<script>(.*?)</script>", page.text, flags=re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert csp["script-src"] == f"'self' 'sha256-{digest}'"  # the start-up script runs, nothing injected
    for asset in re.findall(r'(?:src|href)="(/api/docs/assets/[^"]+)"', page.text):  # same origin: 'self'
        assert client.get(asset).status_code == 200, asset
    assert "connect-src 'self'" in page.headers["Content-Security-Policy"]  # it fetches the schema
    assert client.get("/api/docs/assets/swagger-ui.css").headers.get("Cache-Control") != "no-store"
