"""What the two schemathesis suites share (tests/api: every operation conforms; tests/hostile: hostile
Unicode never gets a 5xx): the app's settings, an owner with a project, and the resources their operations
refer to. A plain module: `from conftest import ...` is not reliable across folders (see shared_values)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from recon.config import Settings
from recon.core.db import create_db_engine, create_session_factory, session_scope
from recon.demo.rules import demo_rules_text
from recon.models import Organization, Project, ProjectMember, Role, User
from shared_values import TEST_JWT_SECRET, password_hash_for_tests

# Each fuzzed request's read timeout. Schemathesis' default (10 s) failed a 5 ms request once in CI on the
# loaded 2-core machine; a hang still fails, a stall of the machine does not.
REQUEST_TIMEOUT_S = 120

SEED_CSV = b"id,date,amount,reference\nA1,2024-01-31,100.00,INV-1\nA2,2024-02-01,-25.50,INV-2\n"


def fuzz_settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        data_dir=data_dir,
        jwt_secret=TEST_JWT_SECRET,
        redis_url=None,
        storage_backend="local",
        recon_admin_email=None,
        recon_admin_password=None,
        otel_exporter_otlp_endpoint=None,
        rate_limit_enabled=False,
        embedded_worker=False,
        metrics_port=0,
    )


def make_owner(app_settings: Settings, *, superuser: bool = False) -> tuple[str, str]:
    """An organisation, its owner (user id) and a project the owner owns (project id)."""
    engine = create_db_engine(app_settings)
    try:
        with session_scope(create_session_factory(engine)) as session:
            org = Organization(name="Fuzz Org")
            session.add(org)
            session.flush()
            user = User(
                org_id=org.id,
                email="owner@fuzz.test",
                password_hash=password_hash_for_tests(),
                is_superuser=superuser,
            )
            session.add(user)
            session.flush()
            project = Project(org_id=org.id, name="Fuzz project", settings={}, created_by_id=user.id)
            session.add(project)
            session.flush()
            session.add(ProjectMember(project_id=project.id, user_id=user.id, role=Role.OWNER))
            return user.id, project.id
    finally:
        engine.dispose()


def seed_resources(client: TestClient, project_id: str, headers: dict[str, str]) -> dict[str, Any]:
    """A dataset, a rule set and an API key whose ids the operations' path parameters can use."""
    base = f"/api/v1/projects/{project_id}"
    upload = client.post(
        f"{base}/datasets", headers=headers, files={"file": ("ledger.csv", SEED_CSV, "text/csv")}
    )
    assert upload.status_code == 202, upload.text
    rules = {"name": "demo", "text": demo_rules_text()}
    ruleset = client.post(f"{base}/rulesets", headers=headers, json=rules)
    assert ruleset.status_code == 201, ruleset.text
    key = client.post("/api/v1/auth/api-keys", headers=headers, json={"name": "fuzz key"})
    assert key.status_code == 201, key.text
    return {
        "dataset_id": upload.json()["id"],
        "job_id": upload.json()["job_id"],
        "ruleset_id": ruleset.json()["id"],
        "version": ruleset.json()["latest_version"],
        "key_id": key.json()["id"],
    }
