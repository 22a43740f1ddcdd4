"""Schemathesis over the app's own OpenAPI schema, every operation, as an authenticated project owner:
no 5xx for any generated input, and every response matches its documented schema.

Runs on SQLite, a fresh copy of one seeded database per operation. The seed is made through the API (a
project, a dataset, a rule set, an API key, the ingestion job); path parameters with those names are replaced
by the real ids in about half the cases, so the fuzzer gets past the 404s into the handlers.
Examples are bounded (MAX_EXAMPLES per operation) so the whole run stays within a few minutes.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import response_schema_conformance

from api_fuzzing import REQUEST_TIMEOUT_S, fuzz_settings, make_owner, seed_resources
from recon.app import create_app
from recon.auth.security import create_access_token
from recon.config import Settings

MAX_EXAMPLES = 20


class DeferredApp:
    """The ASGI app schemathesis calls: forwards to the current operation's app (the schema has to be known at
    collection time, the database only when the test runs)."""

    def __init__(self) -> None:
        self.target: Any = None
        self.real_ids: dict[str, Any] = {}
        self.headers: dict[str, str] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.target is not None, "the fuzz_app fixture did not run"
        await self.target(scope, receive, send)


def _schema_document() -> dict[str, Any]:
    """The OpenAPI document of create_app(); building the app does no I/O."""
    return create_app(Settings(_env_file=None, environment="test", database_url="sqlite://")).openapi()


deferred = DeferredApp()
schema = schemathesis.openapi.from_dict(_schema_document())
schema.app = deferred


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    """Each path parameter naming a seeded resource is the real id or the generated value."""
    known = {k: v for k, v in deferred.real_ids.items() if path_parameters and k in path_parameters}
    if not path_parameters or not known:
        return st.just(path_parameters)
    choices = st.fixed_dictionaries({k: st.sampled_from([path_parameters[k], v]) for k, v in known.items()})
    return choices.map(lambda chosen: {**path_parameters, **chosen})


@pytest.fixture(scope="module")
def seeded(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A database (and data directory) with the owner and the seeded resources, made once; each operation
    gets a copy."""
    root = tmp_path_factory.mktemp("schemathesis-seed")
    shutil.copyfile(sqlite_template, root / "recon.db")
    app_settings = fuzz_settings(f"sqlite:///{root / 'recon.db'}", root / "data")
    user_id, project_id = make_owner(app_settings)
    headers = {"Authorization": f"Bearer {create_access_token(app_settings, user_id)}"}
    with TestClient(create_app(app_settings)) as client:
        seeded_ids = seed_resources(client, project_id, headers)
    with sqlite3.connect(root / "recon.db") as conn:  # fold the WAL in so that a file copy is complete
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return root, {"headers": headers, "ids": {"project_id": project_id, "user_id": user_id, **seeded_ids}}


@pytest.fixture(autouse=True)
def fuzz_app(seeded: tuple[Path, dict[str, Any]], tmp_path: Path) -> Iterator[None]:
    root, seed = seeded
    shutil.copyfile(root / "recon.db", tmp_path / "recon.db")
    shutil.copytree(root / "data", tmp_path / "data")
    deferred.target = create_app(fuzz_settings(f"sqlite:///{tmp_path / 'recon.db'}", tmp_path / "data"))
    deferred.headers, deferred.real_ids = seed["headers"], seed["ids"]
    try:
        yield
    finally:
        shutdown_lifespans()  # schemathesis ends the app's lifespan after each test too; this is explicit
        deferred.target, deferred.headers, deferred.real_ids = None, {}, {}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
    derandomize=True,
)
def test_api_conforms_to_its_schema(case: Any) -> None:
    case.call_and_validate(
        headers=deferred.headers,
        checks=[not_a_server_error, response_schema_conformance],
        timeout=REQUEST_TIMEOUT_S,
    )
