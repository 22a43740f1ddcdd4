"""Shared fixtures: databases (SQLite and PostgreSQL, built by Alembic), settings, app, client, factories.

Any test that uses `database_url` (directly or via `settings`/`app`/`client`/`make_user`...) runs twice, once
per backend of `db_backend`. Restrict a test to one backend with
`@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)`.

Isolation: SQLite gets a fresh copy of a migrated template file per test; PostgreSQL uses one throw-away
database per session (per xdist worker) whose tables are emptied before each test (`_postgres_cleaner`).
PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379) are skipped when unreachable locally,
and required (the test fails) when CI=true.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.pool import NullPool

from recon.app import create_app
from recon.auth.security import create_access_token
from recon.config import Settings
from recon.core.db import SessionFactory, create_db_engine, create_session_factory, session_scope
from recon.core.migrations import upgrade_head
from recon.models import Organization, Project, ProjectMember, Role, User
from recon.runs.partitions import is_run_partition
from shared_values import (  # re-exported: test modules import them from here or from shared_values
    IN_CI,
    PG_ADMIN_URL,
    REDIS_TEST_URL,
    TEST_JWT_SECRET,
    TEST_PASSWORD,
    password_hash_for_tests,
    unavailable,
)

__all__ = [
    "IN_CI",
    "PG_ADMIN_URL",
    "REDIS_TEST_URL",
    "TEST_JWT_SECRET",
    "TEST_PASSWORD",
    "password_hash_for_tests",
    "unavailable",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("db_backend") == "postgres":
            item.add_marker(pytest.mark.postgres)


def _worker_id(request: pytest.FixtureRequest) -> str:
    return str(getattr(request.config, "workerinput", {}).get("workerid", "main"))


# -- databases -------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session; tests get copies."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade_head(Settings(_env_file=None, database_url=f"sqlite:///{path}", data_dir=path.parent))
    with sqlite3.connect(path) as conn:  # fold the WAL into the file so a plain copy is complete
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a throw-away PostgreSQL database migrated to head (one per session and xdist worker)."""
    admin = create_engine(
        PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 3}
    )
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        unavailable("PostgreSQL", str(exc).splitlines()[0])
    name = f"recon_test_{_worker_id(request)}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_head(Settings(_env_file=None, database_url=url))
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# The results tables' per-run partitions (docs/adr/0038) of the tests before: dropped, not only emptied. Kept,
# they pile up over a session (a set per run) and each DELETE below plans and locks every one of them. A DROP
# locks the parent too: one that cannot have it within a second (a connection a test left open) leaves that
# partition to the DELETEs instead of waiting.
DROP_RUN_PARTITIONS = (
    "SET LOCAL lock_timeout = '1s';"
    "DO $$DECLARE part regclass; BEGIN FOR part IN SELECT i.inhrelid::regclass FROM pg_inherits i"
    " JOIN pg_class c ON c.oid = i.inhrelid WHERE c.relkind = 'r' AND i.inhparent IN"
    " (SELECT oid FROM pg_class WHERE relkind = 'p' AND relname IN ('run_items', 'match_groups',"
    " 'matched_group_amounts')) LOOP BEGIN EXECUTE 'DROP TABLE ' || part;"
    " EXCEPTION WHEN lock_not_available THEN NULL; END; END LOOP; END$$;"
    "SET LOCAL lock_timeout = 0;"
)


@pytest.fixture(scope="session")
def _postgres_cleaner(postgres_url: str) -> Iterator[Callable[[], None]]:
    """Empties every table and restarts the used sequences, in one round trip.

    DELETE, not TRUNCATE: TRUNCATE gives each table and index a new file, and its commit waits for the disk
    to sync them all (measured: ~1.3 s per test on a busy CI machine, against ~30 ms for these DELETEs of
    a test's few rows). Replica mode: neither the foreign keys' triggers nor user triggers (e.g. append-only
    guards) fire, so the order of the tables does not matter. The sequences restart as TRUNCATE ... RESTART
    IDENTITY would restart them."""
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0)
    names = inspect(engine).get_table_names()
    tables = [t for t in names if t != "alembic_version" and not is_run_partition(t)]
    statement = (
        "SET LOCAL session_replication_role = replica;"
        + DROP_RUN_PARTITIONS
        + "".join(f'DELETE FROM "{t}";' for t in tables)
        + "SELECT setval((quote_ident(schemaname) || '.' || quote_ident(sequencename))::regclass,"
        " start_value, false) FROM pg_sequences WHERE last_value IS NOT NULL;"
    )

    def clean() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql(statement)

    yield clean
    engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(db_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database for this test."""
    if db_backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "recon.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    request.getfixturevalue("_postgres_cleaner")()
    return url


# -- settings, app, client -------------------------------------------------------------------------
@pytest.fixture
def make_settings(database_url: str, tmp_path: Path) -> Callable[..., Settings]:
    """Build test settings; keyword overrides use field names (e.g. redis_url=..., rate_limit_enabled=True).
    The environment and `.env` are ignored for the values set here, so CI variables cannot leak in."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "environment": "test",
            "database_url": database_url,
            "data_dir": tmp_path / "data",
            "jwt_secret": TEST_JWT_SECRET,
            "redis_url": None,
            "storage_backend": "local",
            "recon_admin_email": None,
            "recon_admin_password": None,
            "otel_exporter_otlp_endpoint": None,
            "rate_limit_enabled": False,
            "metrics_port": 0,
            # Jobs in the worker's own threads: many tests replace task functions in this process
            # (monkeypatch), which a job's child process would not see. tests/hostile runs "process".
            "job_isolation": "thread",
            "frontend_dist": None,  # the api alone; tests/web serves a build of its own
            # No periodic feed/schedule tick in the background; tests/feeds and tests/schedules call it.
            "scheduler_tick_s": 0,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """TestClient with the lifespan running (engine on app.state)."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def db_engine(settings: Settings) -> Iterator[Engine]:
    """An engine of the test database independent of the app (for setup and assertions)."""
    engine = create_db_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(db_engine: Engine) -> SessionFactory:
    """Sessions for direct setup/assertions; use `with session_scope(session_factory) as s:` to commit."""
    return create_session_factory(db_engine)


# -- factories -------------------------------------------------------------------------------------
def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_org(session_factory: SessionFactory) -> Callable[..., Organization]:
    def make(name: str | None = None) -> Organization:
        with session_scope(session_factory) as session:
            org = Organization(name=name or _unique("org"))
            session.add(org)
        return org

    return make


@pytest.fixture
def make_user(session_factory: SessionFactory, make_org: Callable[..., Organization]) -> Callable[..., User]:
    """make_user(role="preparer", project=p) -> a user of p's organisation, member of p with that role.
    Without `project`: a user of `org` (an Organization or its id; default: a new organisation).
    Password: TEST_PASSWORD."""

    def make(
        *,
        role: Role | str | None = None,
        project: Project | None = None,
        org: Organization | str | None = None,
        email: str | None = None,
        is_superuser: bool = False,
        is_active: bool = True,
        full_name: str = "",
    ) -> User:
        if role is not None and project is None:
            raise ValueError("make_user(role=...) needs project=...")
        if project is not None:
            org_id = project.org_id
        elif isinstance(org, str):
            org_id = org
        else:
            org_id = (org or make_org()).id
        with session_scope(session_factory) as session:
            user = User(
                org_id=org_id,
                email=(email or f"{_unique('user')}@example.com").lower(),
                full_name=full_name,
                password_hash=password_hash_for_tests(),
                is_superuser=is_superuser,
                is_active=is_active,
            )
            session.add(user)
            session.flush()
            if role is not None and project is not None:
                session.add(ProjectMember(project_id=project.id, user_id=user.id, role=Role(role)))
        return user

    return make


@pytest.fixture
def make_project(session_factory: SessionFactory, make_user: Callable[..., User]) -> Callable[..., Project]:
    """make_project(owner=user) -> a project in the owner's organisation with the owner as member.
    Without `owner`: a new user in a new organisation owns it (reach it via `project.created_by_id`)."""

    def make(
        *,
        owner: User | None = None,
        name: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> Project:
        owner = owner or make_user()
        with session_scope(session_factory) as session:
            project = Project(
                org_id=owner.org_id,
                name=name or _unique("project"),
                settings={"require_approval": True, **(settings or {})},
                created_by_id=owner.id,
            )
            session.add(project)
            session.flush()
            session.add(ProjectMember(project_id=project.id, user_id=owner.id, role=Role.OWNER))
        return project

    return make


@pytest.fixture
def auth_headers(settings: Settings) -> Callable[[User | str], dict[str, str]]:
    """auth_headers(user or user id) -> {"Authorization": "Bearer <access token>"} (test settings' secret)."""

    def headers(user: User | str) -> dict[str, str]:
        user_id = user if isinstance(user, str) else user.id
        return {"Authorization": f"Bearer {create_access_token(settings, user_id)}"}

    return headers


# -- redis -----------------------------------------------------------------------------------------
@pytest.fixture
def redis_prefix() -> str:
    """A key prefix unique to this test; keys under it are deleted afterwards (with `redis_url`)."""
    return f"recon-test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def redis_url(redis_prefix: str) -> Iterator[str]:
    """URL of the test Redis. Pass both to settings: make_settings(redis_url=redis_url,
    redis_key_prefix=redis_prefix). Skipped when unreachable locally; required under CI=true."""
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except Exception as exc:
        client.close()
        unavailable("Redis", str(exc))
    try:
        yield REDIS_TEST_URL
    finally:
        keys = list(client.scan_iter(match=f"{redis_prefix}*", count=500))
        if keys:
            client.delete(*keys)
        client.close()


# -- S3 (moto in server mode, shared by storage, datasets and exports tests) -------------------------------
_FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # moto accepts any credentials
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto S3 server (server mode, real HTTP) on a free loopback port, with fake credentials."""
    from moto.server import ThreadedMotoServer

    saved = {name: os.environ.get(name) for name in _FAKE_AWS_ENV}
    os.environ.update(_FAKE_AWS_ENV)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def s3_bucket(moto_endpoint: str) -> str:
    """A fresh bucket on the moto server."""
    import boto3

    name = f"recon-test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name
