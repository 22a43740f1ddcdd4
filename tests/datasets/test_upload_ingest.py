"""Upload -> ingestion job -> ready, on SQLite and PostgreSQL, through the API with the embedded worker."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from dataset_helpers import LEDGER_CSV, datasets_url
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from recon.core.db import SessionFactory, session_scope
from recon.models import Dataset, DatasetRecord, Project, User
from recon.models.audit import AuditEvent

Headers = Callable[[User | str], dict[str, str]]


def _owner(project: Project, session_factory: SessionFactory) -> User:
    with session_scope(session_factory) as session:
        user = session.get(User, project.created_by_id)
        assert user is not None
        return user


def test_upload_is_ingested_by_a_job_and_ready_with_rows(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
    upload: Callable[..., Any],
    wait_dataset: Callable[..., dict[str, Any]],
    session_factory: SessionFactory,
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)

    response = upload(preparer, project, LEDGER_CSV, name="Ledger January")

    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] in {"pending", "ingesting", "ready"}
    assert accepted["name"] == "Ledger January"
    assert accepted["filename"] == "ledger.csv"
    assert accepted["format"] == "csv"
    assert accepted["sha256"] == hashlib.sha256(LEDGER_CSV).hexdigest()
    assert accepted["size"] == len(LEDGER_CSV)
    assert accepted["duplicate_of"] is None and accepted["warnings"] == []
    assert accepted["job_id"]

    ready = wait_dataset(preparer, project.id, accepted["id"])
    assert ready["status"] == "ready", ready
    assert (ready["rows"], ready["rejected"], ready["error"]) == (3, 0, None)
    assert ready["effective_mapping"] == {
        "ext_id": "id",
        "date": "date",
        "amount": "amount",
        "currency": "currency",
        "reference": "reference",
        "counterparty": "counterparty",
        "description": "description",
    }
    assert ready["extra_columns"] == ["branch"]
    assert ready["ingested_at"] is not None

    job = client.get(f"/api/v1/jobs/{ready['job_id']}", headers=auth_headers(preparer)).json()
    assert job["status"] == "succeeded"

    with session_scope(session_factory) as session:
        stored = session.scalar(
            select(func.count()).select_from(DatasetRecord).where(DatasetRecord.dataset_id == ready["id"])
        )
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity_id == ready["id"]).order_by(AuditEvent.seq)
        ).all()
    assert stored == 3
    assert actions == ["dataset.uploaded", "dataset.ingested"]


def test_preview_and_records_give_canonical_fields_and_extra(
    client: TestClient,
    make_project: Callable[..., Project],
    auth_headers: Headers,
    upload: Callable[..., Any],
    wait_dataset: Callable[..., dict[str, Any]],
    session_factory: SessionFactory,
) -> None:
    project = make_project()
    owner = _owner(project, session_factory)
    dataset_id = upload(owner, project, LEDGER_CSV).json()["id"]
    wait_dataset(owner, project.id, dataset_id)
    url = f"{datasets_url(project)}/{dataset_id}"

    preview = client.get(f"{url}/preview", params={"limit": 2}, headers=auth_headers(owner)).json()
    assert preview["columns"] == [
        "ext_id", "date", "value_date", "amount", "currency", "reference", "counterparty", "description",
        "branch",
    ]  # fmt: skip
    assert preview["items"] == [
        {
            "row": 1, "ext_id": "L1", "date": "2024-01-02", "value_date": None, "amount": "100.00",
            "currency": "EUR", "reference": "INV-1", "counterparty": "Acme", "description": "first",
            "extra": {"branch": "north"},
        },
        {
            "row": 2, "ext_id": "L2", "date": "2024-01-03", "value_date": None, "amount": "-25.50",
            "currency": "EUR", "reference": "INV-2", "counterparty": "Beta", "description": "second",
            "extra": {"branch": "south"},
        },
    ]  # fmt: skip

    first = client.get(f"{url}/records", params={"limit": 2}, headers=auth_headers(owner)).json()
    assert [r["ext_id"] for r in first["items"]] == ["L1", "L2"]
    assert first["next_cursor"]
    second = client.get(
        f"{url}/records", params={"limit": 2, "cursor": first["next_cursor"]}, headers=auth_headers(owner)
    ).json()
    assert [(r["ext_id"], r["amount"], r["extra"]) for r in second["items"]] == [
        ("L3", "7.25", {"branch": None})
    ]
    assert second["next_cursor"] is None


def test_malformed_csv_rows_are_rejected_with_row_column_and_reason(
    client: TestClient,
    make_project: Callable[..., Project],
    auth_headers: Headers,
    upload: Callable[..., Any],
    wait_dataset: Callable[..., dict[str, Any]],
    session_factory: SessionFactory,
) -> None:
    project = make_project()
    owner = _owner(project, session_factory)
    data = (
        b"id,date,amount,reference\n"
        b"A1,2024-02-01,10.00,r1\n"
        b"A2,2024-02-02,12,50,r2\n"  # one field too many
        b"A3,2024-02-31,5.00,r3\n"  # no such day
        b"A4,2024-02-04,abc,r4\n"  # not a decimal
        b",2024-02-05,1.00,r5\n"  # no id
        b"A6,2024-02-06,6.00,r6\n"
    )
    dataset_id = upload(owner, project, data).json()["id"]

    ready = wait_dataset(owner, project.id, dataset_id)

    assert ready["status"] == "ready"
    assert (ready["rows"], ready["rejected"]) == (2, 4)
    url = f"{datasets_url(project)}/{dataset_id}"
    rejections = client.get(f"{url}/rejections", headers=auth_headers(owner)).json()
    problems = [(r["row"], r["line"], r["column"]) for r in rejections["items"]]
    assert problems == [(2, 3, None), (3, 4, "date"), (4, 5, "amount"), (5, 6, "id")]
    by_row = {r["row"]: r for r in rejections["items"]}
    assert "expected 4 fields, found 5" in by_row[2]["reason"]
    assert by_row[4]["value"] == "abc" and "not a decimal" in by_row[4]["reason"]
    records = client.get(f"{url}/records", headers=auth_headers(owner)).json()["items"]
    assert [(r["row"], r["ext_id"]) for r in records] == [(1, "A1"), (6, "A6")]
    page = client.get(f"{url}/rejections", params={"limit": 3}, headers=auth_headers(owner)).json()
    rest = client.get(
        f"{url}/rejections", params={"limit": 3, "cursor": page["next_cursor"]}, headers=auth_headers(owner)
    ).json()
    assert [r["row"] for r in page["items"] + rest["items"]] == [2, 3, 4, 5]


def test_same_file_again_is_accepted_and_reported_or_refused_on_request(
    make_project: Callable[..., Project],
    upload: Callable[..., Any],
    session_factory: SessionFactory,
) -> None:
    project = make_project()
    owner = _owner(project, session_factory)
    first = upload(owner, project, LEDGER_CSV).json()

    again = upload(owner, project, LEDGER_CSV, filename="ledger-copy.csv")
    refused = upload(owner, project, LEDGER_CSV, params={"reject_duplicates": "true"})

    assert again.status_code == 202
    assert again.json()["duplicate_of"] == first["id"]
    assert again.json()["sha256"] == first["sha256"]
    assert any(first["id"] in w for w in again.json()["warnings"])
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("/duplicate-file")
    assert first["id"] in refused.json()["detail"]
    other_project = make_project(owner=owner)
    elsewhere = upload(owner, other_project, LEDGER_CSV).json()
    assert elsewhere["duplicate_of"] is None  # detection is per project
    with session_scope(session_factory) as session:
        count = session.scalar(
            select(func.count()).select_from(Dataset).where(Dataset.project_id == project.id)
        )
    assert count == 2


def test_idempotency_key_replays_the_first_upload(
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    upload: Callable[..., Any],
    session_factory: SessionFactory,
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    colleague = make_user(role="preparer", project=project)
    key = {"Idempotency-Key": "upload-42"}

    first = upload(preparer, project, LEDGER_CSV, headers=key)
    replay = upload(preparer, project, LEDGER_CSV, headers=key)
    other_file = upload(preparer, project, LEDGER_CSV + b"L4,2024-01-05,1.00,EUR,,,,\n", headers=key)
    other_user = upload(colleague, project, LEDGER_CSV, headers=key)

    assert first.status_code == replay.status_code == 202
    assert replay.json()["id"] == first.json()["id"]
    assert other_file.status_code == 422
    assert other_file.json()["type"].endswith("/idempotency-key-reused")
    assert other_user.status_code == 202 and other_user.json()["id"] != first.json()["id"]
    with session_scope(session_factory) as session:
        count = session.scalar(
            select(func.count()).select_from(Dataset).where(Dataset.project_id == project.id)
        )
    assert count == 2


def test_amounts_keep_their_decimal_places_and_big_values(
    client: TestClient,
    make_project: Callable[..., Project],
    auth_headers: Headers,
    upload: Callable[..., Any],
    wait_dataset: Callable[..., dict[str, Any]],
    session_factory: SessionFactory,
) -> None:
    project = make_project()
    owner = _owner(project, session_factory)
    data = b"id,amount\nA,12345678901.23\nB,0.10\nC,-0.01\nD,1.123456789012\n"
    dataset_id = upload(owner, project, data).json()["id"]

    ready = wait_dataset(owner, project.id, dataset_id)

    assert (ready["rows"], ready["rejected"]) == (3, 1)
    records = client.get(f"{datasets_url(project)}/{dataset_id}/records", headers=auth_headers(owner)).json()
    assert [Decimal(r["amount"]) for r in records["items"]] == [
        Decimal("12345678901.23"), Decimal("0.10"), Decimal("-0.01"),
    ]  # fmt: skip
    rejections = client.get(f"{datasets_url(project)}/{dataset_id}/rejections", headers=auth_headers(owner))
    assert [(r["row"], r["column"]) for r in rejections.json()["items"]] == [(4, "amount")]
    assert "more than 10 decimal places" in rejections.json()["items"][0]["reason"]
