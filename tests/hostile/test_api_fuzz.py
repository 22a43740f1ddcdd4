"""Hostile Unicode against every operation (issue 10, "no 500 for any input"), on SQLite and PostgreSQL:
schemathesis generates each operation's requests from the OpenAPI schema, and hooks turn string values of
bodies, query strings and path parameters into hostile text — NUL, lone surrogates (JSON bodies only: a URL
cannot carry them), other control characters, bidi overrides, long mixed runs. No answer may be a 5xx.

One app per database backend serves all operations (seeded once: an owner, a project, a dataset, a rule set);
what the fuzzer changes stays changed, which is fine for this check. Bounded: MAX_EXAMPLES per operation
and backend.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans

from api_fuzzing import REQUEST_TIMEOUT_S, fuzz_settings, make_owner, seed_resources
from recon.app import create_app
from recon.auth.security import create_access_token
from recon.config import Settings

MAX_EXAMPLES = 3
NASTY = ["\x00", "a\x00b", "\x1b[2J", "\u202etxt.exe", "\r\n\t", "\x7f\x85", "\ufeff", "%00", "' OR 1=1 --"]
NASTY_JSON_ONLY = ["\ud800", "x\udfff", "\udbff\udc00"[0], "emoji \ud83d"]


def _hostile_text(in_url: bool) -> st.SearchStrategy[str]:
    categories = ["Cc", "L", "N", "P", "S", "Z"] + ([] if in_url else ["Cs"])
    fixed = NASTY + ([] if in_url else NASTY_JSON_ONLY)
    mixed = st.text(st.characters(categories=categories, codec=None), max_size=40)  # type: ignore[arg-type]
    return st.one_of(
        st.sampled_from(fixed), mixed, st.builds(lambda a, b: a + b, mixed, st.sampled_from(fixed))
    )


def _poison(value: Any, in_url: bool) -> st.SearchStrategy[Any]:
    """Every string leaf of `value` kept or replaced by hostile text (keys too, in bodies)."""
    if isinstance(value, str):
        return st.one_of(st.just(value), _hostile_text(in_url))
    if isinstance(value, list):
        return st.tuples(*(_poison(item, in_url) for item in value)).map(list) if value else st.just(value)
    if isinstance(value, dict):
        items = [
            st.tuples(st.one_of(st.just(k), _hostile_text(in_url)), _poison(v, in_url))
            for k, v in value.items()
        ]
        return st.tuples(*items).map(dict) if items else st.just(value)
    return st.just(value)


class DeferredApp:
    """The ASGI app schemathesis calls: the current backend's app (the schema is known at collection)."""

    def __init__(self) -> None:
        self.target: Any = None
        self.headers: dict[str, str] = {}
        self.ids: dict[str, str] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.target is not None, "the fuzzed_app fixture did not run"
        await self.target(scope, receive, send)


deferred = DeferredApp()
schema = schemathesis.openapi.from_dict(
    create_app(Settings(_env_file=None, environment="test", database_url="sqlite://")).openapi()
)
schema.app = deferred


@schema.hook
def flatmap_body(context: Any, body: Any) -> Any:
    # multipart form fields are encoded as UTF-8 by the client: no lone surrogates there
    multipart = context.operation is not None and context.operation.path.endswith("/datasets")
    return _poison(body, in_url=multipart)


@schema.hook
def flatmap_query(context: Any, query: Any) -> Any:
    return _poison(query, in_url=True) if query else st.just(query)


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: Any) -> Any:
    """Real ids of the seeded resources half of the time (past the 404s into the handlers), hostile text
    otherwise."""
    if not path_parameters:
        return st.just(path_parameters)
    choices = {
        name: st.one_of(st.just(deferred.ids.get(name, value)), _poison(value, in_url=True))
        for name, value in path_parameters.items()
    }
    return st.fixed_dictionaries(choices)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fuzzed_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The backend's app, seeded once and serving every operation of this module."""
    root = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), root / "recon.db")
        database_url = f"sqlite:///{root / 'recon.db'}"
    else:
        database_url = request.getfixturevalue("postgres_url")
        request.getfixturevalue("_postgres_cleaner")()
    app_settings = fuzz_settings(database_url, root / "data")
    owner_id, project_id = make_owner(app_settings, superuser=True)
    headers = {"Authorization": f"Bearer {create_access_token(app_settings, owner_id)}"}
    app = create_app(app_settings)
    with TestClient(app) as client:
        seeded = seed_resources(client, project_id, headers)
    deferred.target, deferred.headers = create_app(app_settings), headers
    deferred.ids = {"project_id": project_id, "user_id": owner_id, **seeded}
    try:
        yield
    finally:
        shutdown_lifespans()  # the app's lifespan ran for all the operations of this backend
        deferred.target, deferred.headers, deferred.ids = None, {}, {}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
@pytest.mark.usefixtures("fuzzed_app")
def test_hostile_unicode_never_gets_a_5xx(case: Any) -> None:
    case.call_and_validate(headers=deferred.headers, checks=[not_a_server_error], timeout=REQUEST_TIMEOUT_S)
