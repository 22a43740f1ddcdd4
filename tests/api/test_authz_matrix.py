"""Authorisation matrix: every /api/v1 route x every kind of caller, generated from the route table.

For each route (one test each, collected from `recon.auth.policy.api_routes`) and each caller -- anonymous,
another tenant's user, and members of the project with each role -- the route is called with the ids of a real
project of the tenant (and real resources where a builder below knows how to make one; otherwise a random
uuid) and a minimal body generated from the OpenAPI schema. Expected:

- anonymous -> 401 (public routes: anything but 401/403);
- another tenant -> 404 on project-scoped routes;
- a role below the route's required role -> 403;
- a role at or above it -> anything but 401/403 (and 404 only when a random id stood in for a resource);
- never a 5xx.

A route without a declared policy fails (`test_every_route_declares_a_policy`), and a new public route must be
added to PUBLIC_ROUTES on purpose. Routes added later are exercised automatically; to reach past the 404 of a
random id, add a builder for its path parameter to RESOURCE_BUILDERS.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from recon.app import create_app
from recon.auth.policy import api_routes
from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.models import Organization, Project, ProjectMember, Role, User

API = "/api/v1"
# Routes anyone may call. Adding one here is a deliberate decision, reviewed like any security change.
PUBLIC_ROUTES = {
    ("GET", f"{API}/health"),
    ("GET", f"{API}/ready"),
    ("POST", f"{API}/auth/login"),
    ("POST", f"{API}/auth/refresh"),
    ("POST", f"{API}/auth/logout"),
    ("POST", f"{API}/users/invitations/accept"),  # the one-time token is the credential
}
ROLES = [Role.VIEWER, Role.PREPARER, Role.APPROVER, Role.ADMIN, Role.OWNER]
ANONYMOUS, OTHER_TENANT, SUPERUSER = "anonymous", "other-tenant", "superuser"
# The other tenant's owner, with their own project id in the path but our resource ids (IDOR probe).
CROSS_IDS = "other-tenant-own-project"
CALLERS = [ANONYMOUS, OTHER_TENANT, *(r.value for r in ROLES)]
TINY_CSV = b"id,date,amount,reference\n1,2024-01-31,10.00,INV-1\n2,2024-02-01,-2.50,INV-2\n"


def _route_table() -> list[tuple[str, str, str | None]]:
    # Built without I/O (create_app opens nothing); the test app below is a separate instance.
    app = create_app(Settings(_env_file=None, environment="test", database_url="sqlite://", metrics_port=0))
    return sorted(
        (method, info.path, info.policy)
        for info in api_routes(app)
        if info.path.startswith(API + "/")
        for method in info.methods
        if method != "HEAD"
    )


ROUTES = _route_table()


# -- the world a route is called in --------------------------------------------------------------------------
@dataclass
class World:
    client: TestClient
    session_factory: SessionFactory
    headers: Callable[[User | str], dict[str, str]]
    users: dict[str, User]
    project: Project
    foreign_project: Project  # the other tenant's
    random_ids: set[str] = field(default_factory=set)
    resources: dict[str, str] = field(default_factory=dict)  # built once per world

    @property
    def owner(self) -> User:
        return self.users[Role.OWNER.value]

    def add_member(self, user: User, role: Role) -> None:
        with session_scope(self.session_factory) as session:
            session.add(ProjectMember(project_id=self.project.id, user_id=user.id, role=role))


def _member_target(world: World) -> str:
    """A separate member to change or remove (so the caller's own membership stays intact)."""
    with session_scope(world.session_factory) as session:
        user = User(
            org_id=world.project.org_id,
            email=f"target-{uuid.uuid4().hex[:10]}@example.com",
            password_hash="unused",
        )
        session.add(user)
        session.flush()
        session.add(ProjectMember(project_id=world.project.id, user_id=user.id, role=Role.VIEWER))
    return str(user.id)


def _dataset(world: World) -> str:
    response = world.client.post(
        f"{API}/projects/{world.project.id}/datasets",
        files={"file": ("matrix.csv", TINY_CSV, "text/csv")},
        headers=world.headers(world.owner),
    )
    assert response.status_code in (200, 201, 202), f"dataset builder: {response.status_code} {response.text}"
    return str(response.json()["id"])


def _feed(world: World) -> str:
    response = world.client.post(
        f"{API}/projects/{world.project.id}/feeds",
        json={"name": "matrix", "path": "matrix/in"},
        headers=world.headers(world.owner),
    )
    assert response.status_code == 201, f"feed builder: {response.status_code} {response.text}"
    return str(response.json()["id"])


def _job(world: World) -> str:
    from recon.models.jobs import Job

    with session_scope(world.session_factory) as session:
        job = Job(
            kind="matrix.noop",
            project_id=world.project.id,
            created_by=world.owner.id,
            # queued far in the future: no worker takes it, so cancel has something to cancel
            run_after=dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
        )
        session.add(job)
    return str(job.id)


def _decision(world: World) -> str:
    """A decision pending approval, made by a preparer who is none of the callers (so every approver may
    check it: maker-checker does not stand in the way)."""
    from review.factory import build_run  # tests/review/factory.py

    with session_scope(world.session_factory) as session:
        maker = User(
            org_id=world.project.org_id,
            email=f"maker-{uuid.uuid4().hex[:10]}@example.com",
            password_hash="unused",
        )
        session.add(maker)
        session.flush()
        session.add(ProjectMember(project_id=world.project.id, user_id=maker.id, role=Role.PREPARER))
    run = build_run(world.session_factory, world.project, created_by=maker.id)
    group = {"group_id": run.groups["sug1"], "version": 1}
    response = world.client.post(f"{API}/runs/{run.run_id}/confirm", json=group, headers=world.headers(maker))
    assert response.status_code == 201, f"decision builder: {response.status_code} {response.text}"
    return str(response.json()["decisions"][0]["id"])


def _export(world: World) -> str:
    """A finished CSV export of a run of the world's project (the download route streams a real file)."""
    import time

    from review.factory import build_run  # tests/review/factory.py

    run = build_run(world.session_factory, world.project, created_by=world.owner.id)
    headers = world.headers(world.owner)
    body = {"what": "groups", "format": "csv"}
    response = world.client.post(f"{API}/runs/{run.run_id}/exports", json=body, headers=headers)
    assert response.status_code == 202, f"export builder: {response.status_code} {response.text}"
    export_id = str(response.json()["id"])
    deadline = time.monotonic() + 60  # a deadline for the embedded worker, not a timing assertion
    while (status := world.client.get(f"{API}/exports/{export_id}", headers=headers).json()["status"]) in (
        "queued",
        "running",
    ):
        assert time.monotonic() < deadline, "export builder: the export job did not finish"
        time.sleep(0.05)
    assert status == "succeeded", f"export builder: the export {status}"
    return export_id


# path parameter -> builder of a real resource in the world's project (the route needs it to exist)
RESOURCE_BUILDERS: dict[str, tuple[Callable[[World], str], str | None]] = {
    # name: (builder, route that must exist for the builder to work, or None)
    "user_id": (_member_target, None),
    "dataset_id": (_dataset, f"POST {API}/projects/{{project_id}}/datasets"),
    "job_id": (_job, None),
    "feed_id": (_feed, f"POST {API}/projects/{{project_id}}/feeds"),
    "decision_id": (_decision, f"POST {API}/runs/{{run_id}}/confirm"),
    "export_id": (_export, f"POST {API}/runs/{{run_id}}/exports"),
}


def path_values(
    world: World, path: str, openapi_params: list[dict[str, Any]], project_id: str | None = None
) -> dict[str, str]:
    values: dict[str, str] = {}
    known_routes = {f"{m} {p}" for m, p, _ in ROUTES}
    for param in openapi_params:
        if param.get("in") != "path":
            continue
        name = param["name"]
        builder, needs = RESOURCE_BUILDERS.get(name, (None, None))
        if name == "project_id":
            values[name] = project_id or world.project.id
        elif builder is not None and (needs is None or needs in known_routes):
            if name not in world.resources:
                world.resources[name] = builder(world)
            values[name] = world.resources[name]
        elif param.get("schema", {}).get("type") == "integer":
            values[name] = "1"
        else:
            values[name] = str(uuid.uuid4())
            world.random_ids.add(name)
    return values


# -- minimal requests from the OpenAPI schema ----------------------------------------------------------------
def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def example_value(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    """A small value that satisfies the common constraints (required fields, enums, formats, bounds)."""
    schema = _resolve(schema, components)
    for key in ("default", "const"):
        if key in schema and schema[key] is not None:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(key, []) if _resolve(o, components).get("type") != "null"]
        if options:
            return example_value(options[0], components, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 6:
            return {}
        props = schema.get("properties", {})
        return {
            name: example_value(props[name], components, depth + 1) for name in schema.get("required", [])
        }
    if kind == "array":
        count = schema.get("minItems", 0)
        return [example_value(schema.get("items", {}), components, depth + 1) for _ in range(count)]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return False
    if kind == "string":
        fmt = schema.get("format")
        by_format = {"email": "matrix@example.com", "date": "2024-01-31", "date-time": "2030-01-01T00:00:00Z"}
        if fmt in by_format:
            return by_format[fmt]
        if schema.get("pattern") == r"^\d{6}$":
            return "123456"
        return "m" * max(1, schema.get("minLength", 1))
    return None


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    query: dict[str, Any]
    json: Any = None
    files: dict[str, Any] | None = None
    data: dict[str, Any] | None = None


def build_call(
    world: World, method: str, path: str, schema: dict[str, Any], project_id: str | None = None
) -> Call:
    components = schema.get("components", {}).get("schemas", {})
    operation = schema["paths"][path][method.lower()]
    params = operation.get("parameters", [])
    url = path.format(**path_values(world, path, params, project_id))
    query = {
        p["name"]: example_value(p.get("schema", {}), components)
        for p in params
        if p.get("in") == "query" and p.get("required")
    }
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        return Call(method, url, query, json=example_value(content["application/json"]["schema"], components))
    if "multipart/form-data" in content:
        form = example_value(content["multipart/form-data"]["schema"], components) or {}
        files = {k: ("matrix.csv", TINY_CSV, "text/csv") for k in form if k == "file"}
        data = {k: str(v) for k, v in form.items() if k != "file"}
        return Call(method, url, query, files=files or None, data=data or None)
    return Call(method, url, query)


# -- users ---------------------------------------------------------------------------------------------------
@pytest.fixture
def callers(
    make_org: Callable[..., Organization], make_user: Callable[..., User]
) -> tuple[Organization, dict[str, User]]:
    org = make_org()
    users = {role.value: make_user(org=org) for role in ROLES}
    users[OTHER_TENANT] = make_user()  # own organisation
    users[SUPERUSER] = make_user(org=org, is_superuser=True)
    return org, users


@pytest.fixture
def world_factory(
    client: TestClient,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
    callers: tuple[Organization, dict[str, User]],
) -> Iterator[Callable[[], World]]:
    _org, users = callers
    foreign = make_project(owner=users[OTHER_TENANT])  # the other tenant has a project of its own

    def build() -> World:
        project = make_project(owner=users[Role.OWNER.value])
        world = World(client, session_factory, auth_headers, users, project, foreign)
        for role in ROLES[:-1]:
            world.add_member(users[role.value], role)
        return world

    yield build


def expected_problem(policy: str, caller: str, unresolvable: bool) -> set[int] | str:
    """The exact status(es) expected, or "allowed" (anything but 401/403 and 5xx)."""
    if caller == ANONYMOUS:
        return "allowed" if policy == "public" else {401}
    if policy in ("public", "authenticated"):
        return "allowed"
    if policy == "superuser":
        return "allowed" if caller == SUPERUSER else {403}
    required = Role(policy)
    if caller in (OTHER_TENANT, CROSS_IDS) or unresolvable:
        return {404}
    if caller == SUPERUSER:
        return {404}  # an org admin who is no member of the project does not see it
    return "allowed" if Role(caller).at_least(required) else {403}


def denied(response: Any, *, public: bool) -> bool:
    """Was the caller turned away by authorisation? On public routes a 401 may be the answer itself
    (wrong password, spent refresh token): only the generic "credentials required" problem counts there."""
    if response.status_code == 403:
        return True
    if response.status_code != 401:
        return False
    return not public or response.json().get("type") == "https://recon.dev/problems/unauthorized"


# -- the tests -----------------------------------------------------------------------------------------------
def test_every_route_declares_a_policy() -> None:
    undeclared = [f"{method} {path}" for method, path, policy in ROUTES if policy is None]
    assert undeclared == [], "declare who may call these (role dependency, CurrentUser, Superuser or PUBLIC)"


def test_public_routes_are_deliberate() -> None:
    public = {(method, path) for method, path, policy in ROUTES if policy == "public"}
    assert public == PUBLIC_ROUTES


@pytest.mark.timeout(300)
@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("method", "path", "policy"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_route_authorisation(
    method: str, path: str, policy: str | None, app: FastAPI, world_factory: Callable[[], World]
) -> None:
    if policy is None:
        pytest.fail(f"{method} {path} declares no policy")
    schema = app.openapi()
    callers = [*CALLERS, SUPERUSER] if policy == "superuser" else list(CALLERS)
    if "{project_id}" in path and path.count("{") > 1 and policy not in ("public", "authenticated"):
        callers.append(CROSS_IDS)
    world = world_factory()
    failures: list[str] = []
    for caller in callers:
        world.random_ids.clear()
        own_project = world.foreign_project.id if caller == CROSS_IDS else None
        call = build_call(world, method, path, schema, project_id=own_project)
        if caller == CROSS_IDS and world.random_ids:
            continue  # no real resource of ours to probe with
        user = world.users[OTHER_TENANT if caller == CROSS_IDS else caller] if caller != ANONYMOUS else None
        headers = world.headers(user) if user is not None else {}
        response = world.client.request(
            call.method,
            call.url,
            params=call.query,
            json=call.json,
            files=call.files,
            data=call.data,
            headers=headers,
        )
        status = response.status_code
        project_scoped = "{project_id}" in path
        unresolvable = (
            bool(world.random_ids) and not project_scoped and policy not in ("public", "authenticated")
        )
        expected = expected_problem(policy, caller, unresolvable)
        if status >= 500:
            failures.append(f"{caller}: {status} {response.text[:200]}")
        elif expected == "allowed":
            if denied(response, public=policy == "public") or (status == 404 and not world.random_ids):
                failures.append(f"{caller}: expected access, got {status} {response.text[:200]}")
        elif status not in expected:
            failures.append(f"{caller}: expected {sorted(expected)}, got {status} {response.text[:200]}")
        if method not in ("GET", "HEAD") and status < 400:
            world = world_factory()  # the call changed the world (deleted, renamed...): start afresh
    assert not failures, f"{method} {path} (policy {policy}):\n" + "\n".join(failures)
