"""Ingestion job outcomes, run step by step (no embedded worker): superseded jobs write nothing, a job that
fails for good marks the dataset failed, a cancelled one too."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from dataset_helpers import LEDGER_CSV, datasets_url
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.models import Dataset, DatasetRecord, Project, User
from recon.models.jobs import Job
from recon.worker.embedded import runner_from_settings
from recon.worker.runner import WorkerRunner

Headers = Callable[[User | str], dict[str, str]]


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(embedded_worker=False)


@pytest.fixture
def runner(settings: Settings, session_factory: SessionFactory) -> Iterator[WorkerRunner]:
    yield runner_from_settings(settings, session_factory, concurrency=1)


def _dataset(factory: SessionFactory, dataset_id: str) -> Dataset:
    with session_scope(factory) as session:
        dataset = session.get(Dataset, dataset_id)
        assert dataset is not None
        return dataset


def _job(factory: SessionFactory, job_id: str | None) -> Job:
    with session_scope(factory) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_a_remapped_dataset_ignores_its_superseded_job(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
    upload: Callable[..., Any],
    runner: WorkerRunner,
    session_factory: SessionFactory,
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    created = upload(preparer, project, LEDGER_CSV).json()
    remapped = client.put(
        f"{datasets_url(project)}/{created['id']}/mapping",
        json={"mapping": {"ext_id": "reference"}},
        headers=auth_headers(preparer),
    ).json()
    assert remapped["status"] == "pending" and remapped["job_id"] != created["job_id"]

    assert runner.run_until_idle() == 2

    first = _job(session_factory, created["job_id"])
    assert first.status == "succeeded" and "nothing to do" in first.message
    dataset = _dataset(session_factory, created["id"])
    assert (dataset.status, dataset.rows, dataset.job_id) == ("ready", 3, remapped["job_id"])
    assert dataset.effective_mapping is not None and dataset.effective_mapping["ext_id"] == "reference"
    with session_scope(session_factory) as session:
        ids = session.scalars(
            select(DatasetRecord.ext_id)
            .where(DatasetRecord.dataset_id == created["id"])
            .order_by(DatasetRecord.row_no)
        ).all()
    assert ids == ["INV-1", "INV-2", "INV-3"]


def test_a_missing_stored_file_fails_the_dataset_at_once(
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    upload: Callable[..., Any],
    runner: WorkerRunner,
    settings: Settings,
    session_factory: SessionFactory,
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    created = upload(preparer, project, LEDGER_CSV).json()
    stored = _dataset(session_factory, created["id"]).storage_key
    (settings.data_dir / "objects" / stored).unlink()

    runner.run_until_idle()

    dataset = _dataset(session_factory, created["id"])
    assert dataset.status == "failed"
    assert dataset.error == f"the stored file {stored} is missing"
    job = _job(session_factory, created["job_id"])
    assert (job.status, job.attempts) == ("failed", 1)


def test_a_job_failing_on_every_attempt_marks_the_dataset_failed(
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    upload: Callable[..., Any],
    runner: WorkerRunner,
    session_factory: SessionFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from recon.datasets import tasks

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("storage backend unavailable")

    monkeypatch.setattr(tasks, "parse_dataset", broken)
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    created = upload(preparer, project, LEDGER_CSV).json()

    for _ in range(3):  # each failed attempt is retried later; make the retry due now
        runner.run_until_idle()
        with session_scope(session_factory) as session:
            job = session.get(Job, created["job_id"])
            assert job is not None
            job.run_after = job.created_at

    dataset = _dataset(session_factory, created["id"])
    job = _job(session_factory, created["job_id"])
    assert (job.status, job.attempts) == ("failed", 3)
    assert dataset.status == "failed"
    assert dataset.error == (
        f"internal error (RuntimeError); the details are in the worker's log under job {created['job_id']}"
    )
    with session_scope(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(DatasetRecord)) == 0


def test_cancelling_the_ingestion_fails_the_dataset(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
    upload: Callable[..., Any],
    session_factory: SessionFactory,
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    created = upload(preparer, project, LEDGER_CSV).json()

    response = client.post(f"/api/v1/jobs/{created['job_id']}/cancel", headers=auth_headers(preparer))

    assert response.status_code in (200, 202), response.text
    dataset = _dataset(session_factory, created["id"])
    assert dataset.status == "failed" and dataset.error is not None and "cancelled" in dataset.error
