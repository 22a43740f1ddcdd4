"""Every /api/v1 route declares who may call it (see recon.auth.policy), and OpenAPI shows it."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from recon.auth.policy import api_routes

pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


def test_every_api_route_declares_a_policy(app: FastAPI) -> None:
    routes = [r for r in api_routes(app) if r.path.startswith("/api/v1")]
    assert routes
    undeclared = sorted(f"{sorted(r.methods)} {r.path}" for r in routes if r.policy is None)
    assert undeclared == [], "routes without a policy (use a role dependency, CurrentUser or PUBLIC)"


def test_known_policies(app: FastAPI) -> None:
    policies = {(r.path, m): r.policy for r in api_routes(app) for m in r.methods}
    assert policies[("/api/v1/health", "GET")] == "public"
    assert policies[("/api/v1/projects", "POST")] == "authenticated"
    assert policies[("/api/v1/projects/{project_id}", "GET")] == "viewer"
    assert policies[("/api/v1/projects/{project_id}", "PATCH")] == "admin"
    assert policies[("/api/v1/projects/{project_id}", "DELETE")] == "owner"
    assert policies[("/api/v1/projects/{project_id}/members/{user_id}", "DELETE")] == "admin"


def test_openapi_carries_policies_and_problem_schemas(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/projects/{project_id}"]["patch"]
    assert operation["x-required-role"] == "admin"
    not_found = operation["responses"]["404"]["content"]
    assert list(not_found) == ["application/problem+json"]
    assert not_found["application/problem+json"]["schema"]["$ref"] == "#/components/schemas/Problem"
    assert client.get("/api/docs").status_code == 200
