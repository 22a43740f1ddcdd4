"""Upload limits and content sniffing: 413 leaves nothing behind, binaries of other kinds are 415."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dataset_helpers import LEDGER_CSV, datasets_url
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.models import Dataset, Project, User
from recon.models.jobs import Job

MAX_BYTES = 4096


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(upload_max_bytes=MAX_BYTES)


def _stored_files(settings: Settings) -> list[Path]:
    root = settings.data_dir / "objects"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _counts(session_factory: SessionFactory) -> tuple[int, int]:
    with session_scope(session_factory) as session:
        datasets = session.scalar(select(func.count()).select_from(Dataset)) or 0
        jobs = session.scalar(select(func.count()).select_from(Job)) or 0
    return datasets, jobs


def _preparer(make_project: Callable[..., Project], make_user: Callable[..., User]) -> tuple[Project, User]:
    project = make_project()
    return project, make_user(role="preparer", project=project)


def test_file_over_the_limit_is_413_and_nothing_is_stored(
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    upload: Callable[..., Any],
    settings: Settings,
    session_factory: SessionFactory,
) -> None:
    project, preparer = _preparer(make_project, make_user)
    header = b"id,amount\n"
    data = header + b"".join(b"X%06d,1.00\n" % i for i in range(MAX_BYTES // 10))
    assert len(data) > MAX_BYTES

    response = upload(preparer, project, data)

    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert str(MAX_BYTES) in response.json()["detail"]
    assert _stored_files(settings) == []
    assert _counts(session_factory) == (0, 0)


def test_body_far_over_the_limit_is_refused_before_it_is_read(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    upload: Callable[..., Any],
    settings: Settings,
    session_factory: SessionFactory,
) -> None:
    project, preparer = _preparer(make_project, make_user)
    data = b"id,amount\n" + b"A,1.00\n" * (2 * 1024 * 1024 // 7)  # beyond the limit + multipart overhead

    response = upload(preparer, project, data)
    # Refused from Content-Length, before the body is parsed (and so before authentication even runs).
    anonymous = client.post(datasets_url(project), files={"file": ("big.csv", data, "text/csv")})

    assert response.status_code == 413
    assert response.json()["type"].endswith("/payload-too-large")
    assert anonymous.status_code == 413
    assert _stored_files(settings) == []
    assert _counts(session_factory) == (0, 0)


def test_file_at_the_limit_is_accepted(
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    upload: Callable[..., Any],
    wait_dataset: Callable[..., dict[str, Any]],
) -> None:
    project, preparer = _preparer(make_project, make_user)
    data = LEDGER_CSV + b"#" * (MAX_BYTES - len(LEDGER_CSV) - 1) + b"\n"
    assert len(data) == MAX_BYTES

    response = upload(preparer, project, data)

    assert response.status_code == 202, response.text
    assert response.json()["size"] == MAX_BYTES


def _zip(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "x")
    return buffer.getvalue()


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("data", "filename", "named"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "scan.csv", "PNG image"),
        (b"%PDF-1.7\n...", "statement.csv", "PDF"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old.xls", ".xls"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 16, "ledger.csv.gz", "gzip"),
        (_zip(["readme.txt"]), "archive.zip", "zip archive"),
        ("id,amount\nA,1\n".encode("utf-16"), "wide.csv", "UTF-16"),
        (b"\x01\x02\x03\x00\x00\x05" * 10, "blob.bin", "binary data"),
    ],
)
def test_unsupported_content_is_415_and_nothing_is_stored(
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    upload: Callable[..., Any],
    settings: Settings,
    session_factory: SessionFactory,
    data: bytes,
    filename: str,
    named: str,
) -> None:
    project, preparer = _preparer(make_project, make_user)

    response = upload(preparer, project, data, filename=filename)

    assert response.status_code == 415, response.text
    assert named in response.json()["detail"]
    assert _stored_files(settings) == []
    assert _counts(session_factory) == (0, 0)


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_empty_file_is_422(
    make_project: Callable[..., Project], make_user: Callable[..., User], upload: Callable[..., Any]
) -> None:
    project, preparer = _preparer(make_project, make_user)

    response = upload(preparer, project, b"")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.file"
