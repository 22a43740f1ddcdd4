"""Every error is RFC 9457 problem+json with a stable type; never a stack trace."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import structlog
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from recon.core.db import DbSession, SessionFactory
from recon.core.errors import NotFound
from recon.models import Organization, User

sqlite_only = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
PROBLEM = "application/problem+json"


def assert_problem(response, status: int, slug: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == f"https://recon.dev/problems/{slug}"
    assert body["status"] == status
    assert body["title"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def test_unknown_route_is_404_problem(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/no-such-thing"), 404, "not-found")


def test_unknown_project_is_404_problem(
    client: TestClient, make_user: Callable[..., User], auth_headers: Callable[[User], dict[str, str]]
) -> None:
    user = make_user()
    body = assert_problem(
        client.get("/api/v1/projects/00000000-0000-0000-0000-000000000000", headers=auth_headers(user)),
        404,
        "not-found",
    )
    assert body["detail"] == "project not found"


def test_wrong_method_is_405_problem(client: TestClient) -> None:
    assert_problem(client.put("/api/v1/projects"), 405, "method-not-allowed")


def test_validation_errors_name_each_field(
    client: TestClient, make_user: Callable[..., User], auth_headers: Callable[[User], dict[str, str]]
) -> None:
    headers = auth_headers(make_user())
    body = assert_problem(
        client.post(
            "/api/v1/projects", json={"name": "", "settings": {"require_approval": "maybe"}}, headers=headers
        ),
        422,
        "validation-error",
    )
    fields = {error["field"] for error in body["errors"]}
    assert {"body.name", "body.settings.require_approval"} <= fields
    body = assert_problem(client.get("/api/v1/projects?limit=5000", headers=headers), 422, "validation-error")
    assert body["errors"][0]["field"] == "query.limit"
    body = assert_problem(
        client.post(
            "/api/v1/projects", content=b"{not json", headers={**headers, "content-type": "application/json"}
        ),
        422,
        "validation-error",
    )
    assert body["errors"]


def test_unauthenticated_is_401_problem(client: TestClient) -> None:
    response = client.get("/api/v1/projects")
    assert_problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert_problem(
        client.get("/api/v1/projects", headers={"Authorization": "Bearer not-a-jwt"}), 401, "unauthorized"
    )


@sqlite_only
def test_crash_is_500_problem_without_stack_trace(app: FastAPI) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    @app.get("/gone")
    def gone() -> None:
        raise NotFound("it is gone")

    with TestClient(app) as client:
        response = client.get("/boom", headers={"X-Request-ID": "crash-1"})
        body = assert_problem(response, 500, "internal-error")
        assert "secret" not in response.text and "Traceback" not in response.text
        assert body["request_id"] == "crash-1"
        assert assert_problem(client.get("/gone"), 404, "not-found")["detail"] == "it is gone"


def test_failed_commit_is_an_error_response_and_rolls_back(
    app: FastAPI, session_factory: SessionFactory, make_org: Callable[..., Organization]
) -> None:
    """The boundary commits before the response is sent: a commit-time failure is never a silent 2xx."""
    make_org(name="Taken")

    @app.post("/two-orgs")
    def two_orgs(session: DbSession) -> dict[str, str]:
        session.add(Organization(name="Fresh"))
        session.add(Organization(name="Taken"))  # unique violation surfaces at commit (no flush here)
        return {"status": "created"}

    with TestClient(app) as client:
        assert_problem(client.post("/two-orgs"), 409, "conflict")
    with session_factory() as session:
        assert session.scalar(select(Organization).where(Organization.name == "Fresh")) is None


def test_log_lines_carry_the_current_trace_id(capsys: pytest.CaptureFixture[str]) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    from recon.observability.logging import configure_logging

    configure_logging("INFO")
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        structlog.get_logger("test").info("inside_span")
        expected = format(span.get_span_context().trace_id, "032x")
    line = next(json.loads(raw) for raw in capsys.readouterr().out.splitlines() if "inside_span" in raw)
    assert line["trace_id"] == expected
