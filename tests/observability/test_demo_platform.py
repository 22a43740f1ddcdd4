"""The `make run` demo: administrator, project, datasets ingested by the job queue, rule set; idempotent."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from recon.app import create_app
from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.demo_platform import DEMO_PROJECT, bootstrap_demo, render
from recon.models import Dataset, Job, Project, User

ROWS = 300


def _counts(factory: SessionFactory) -> tuple[int, int, int, int]:
    with session_scope(factory) as session:
        return (
            session.scalar(select(func.count()).select_from(User)) or 0,
            session.scalar(select(func.count()).select_from(Project)) or 0,
            session.scalar(select(func.count()).select_from(Dataset)) or 0,
            session.scalar(select(func.count()).select_from(Job)) or 0,
        )


def test_first_start_creates_everything_and_the_second_nothing(
    settings: Settings, session_factory: SessionFactory
) -> None:
    first = bootstrap_demo(settings, session_factory, rows=ROWS)
    assert first.generated_password is not None and len(first.generated_password) >= 20
    assert first.admin_email == "admin@example.com"
    assert len(first.created) == 5, first.created  # admin, project, two datasets, rule set
    counts = _counts(session_factory)
    assert counts == (1, 1, 2, 2)  # one ingestion job per dataset

    second = bootstrap_demo(settings, session_factory, rows=ROWS)
    assert second.generated_password is None
    assert second.created == []
    assert second.project_id == first.project_id
    assert _counts(session_factory) == counts
    text = render(second, settings)
    assert "http://localhost:2000/api/docs" in text
    assert first.generated_password not in text


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_the_printed_password_logs_in_and_the_job_queue_ingests_the_datasets(
    settings: Settings, session_factory: SessionFactory
) -> None:
    report = bootstrap_demo(settings, session_factory, rows=ROWS)
    assert report.generated_password is not None
    assert report.generated_password in render(report, settings)
    with TestClient(create_app(settings)) as client:
        login = client.post(
            "/api/v1/auth/login", json={"email": report.admin_email, "password": report.generated_password}
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        url = f"/api/v1/projects/{report.project_id}/datasets"
        deadline = time.monotonic() + 120
        while True:
            items = client.get(url, headers=headers).json()["items"]
            if all(item["status"] in {"ready", "failed"} for item in items) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        rulesets = client.get(f"/api/v1/projects/{report.project_id}/rulesets", headers=headers).json()
    assert sorted(item["name"] for item in items) == ["Bank statement (demo)", "Ledger (demo)"]
    assert {item["status"] for item in items} == {"ready"}, items
    ledger = next(item for item in items if item["name"] == "Ledger (demo)")
    assert ledger["rows"] == ROWS and ledger["rejected"] == 0
    assert [item["name"] for item in rulesets["items"]] == ["Demo rules"]


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_configured_administrator_is_used_and_no_password_is_printed(
    make_settings: Callable[..., Settings], session_factory: SessionFactory
) -> None:
    settings = make_settings(recon_admin_email="Ops@Example.com", recon_admin_password="a-long-ops-password")
    report = bootstrap_demo(settings, session_factory, rows=ROWS)
    assert report.admin_email == "ops@example.com"
    assert report.generated_password is None
    assert "a-long-ops-password" not in render(report, settings)
    with session_scope(session_factory) as session:
        project = session.scalar(select(Project).where(Project.name == DEMO_PROJECT))
        admin = session.scalar(select(User).where(User.email == "ops@example.com"))
        assert project is not None and admin is not None and admin.is_superuser
        assert project.created_by_id == admin.id


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_existing_users_without_an_administrator_get_a_clear_error(
    settings: Settings, session_factory: SessionFactory, make_user: Callable[..., User]
) -> None:
    make_user()
    with pytest.raises(RuntimeError, match="create-admin"):
        bootstrap_demo(settings, session_factory, rows=ROWS)
