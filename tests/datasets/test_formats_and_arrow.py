"""Parquet / XLSX / JSON uploads, `load_dataset_arrow` for runs, and the S3 storage variant."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import boto3
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dataset_helpers import LEDGER_CSV, WAIT_S, datasets_url
from fastapi.testclient import TestClient

from recon.app import create_app
from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.datasets import load_dataset_arrow
from recon.models import Dataset, Project, User

Headers = Callable[[User | str], dict[str, str]]


def _parquet() -> bytes:
    table = pa.table(
        {
            "txn_id": pa.array([101, 102], pa.int64()),
            "booking_date": pa.array([dt.date(2024, 3, 1), dt.date(2024, 3, 2)], pa.date32()),
            "amount": pa.array([Decimal("10.50"), Decimal("-3.25")], pa.decimal128(12, 2)),
            "memo": ["a", None],
            "score": pa.array([0.5, 1.0], pa.float64()),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _xlsx() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["ID", "Date", "Amount", "Payee"])
    sheet.append(["X1", dt.date(2024, 4, 1), 12.5, "Shop"])
    sheet.append(["X2", dt.date(2024, 4, 2), -7, "Bank"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _json() -> bytes:
    rows = [
        {"id": "J1", "date": "2024-05-01", "amount": "1.10", "tags": "x"},
        {"id": "J2", "date": "2024-05-02", "amount": "2.20", "tags": None},
    ]
    return json.dumps(rows).encode()


@pytest.mark.parametrize(
    ("filename", "make", "fmt", "expected"),
    [
        ("a.parquet", _parquet, "parquet", [("101", "2024-03-01", "10.50"), ("102", "2024-03-02", "-3.25")]),
        ("sheet.xlsx", _xlsx, "xlsx", [("X1", "2024-04-01", "12.5"), ("X2", "2024-04-02", "-7.0")]),
        ("rows.json", _json, "json", [("J1", "2024-05-01", "1.10"), ("J2", "2024-05-02", "2.20")]),
    ],
)
def test_other_formats_are_sniffed_and_ingested(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
    upload: Callable[..., Any],
    wait_dataset: Callable[..., dict[str, Any]],
    filename: str,
    make: Callable[[], bytes],
    fmt: str,
    expected: list[tuple[str, str, str]],
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)

    created = upload(preparer, project, make(), filename=filename).json()
    ready = wait_dataset(preparer, project.id, created["id"])

    assert created["format"] == fmt
    assert ready["status"] == "ready", ready
    url = f"{datasets_url(project)}/{ready['id']}/records"
    items = client.get(url, headers=auth_headers(preparer)).json()["items"]
    got = [(r["ext_id"], r["date"], r["amount"]) for r in items]
    assert [(i, d, Decimal(a)) for i, d, a in got] == [(i, d, Decimal(a)) for i, d, a in expected]


def test_parquet_extra_columns_are_text(
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    upload: Callable[..., Any],
    wait_dataset: Callable[..., dict[str, Any]],
    session_factory: SessionFactory,
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    created = upload(preparer, project, _parquet(), filename="export.parquet").json()
    wait_dataset(preparer, project.id, created["id"])

    with session_scope(session_factory) as session:
        dataset = session.get(Dataset, created["id"])
        assert dataset is not None
        table = load_dataset_arrow(session, dataset)

    assert table.column("id").to_pylist() == ["101", "102"]
    assert table.column("description").to_pylist() == ["a", None]  # "memo" is a synonym of description
    assert table.column("score").to_pylist() == ["0.5", "1.0"]


def test_load_dataset_arrow_gives_typed_canonical_and_extra_columns(
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    upload: Callable[..., Any],
    wait_dataset: Callable[..., dict[str, Any]],
    session_factory: SessionFactory,
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    data = b"id,booking_date,date,amount,currency,reference,counterparty,description,branch\n" + (
        b"L1,2024-01-02,d1,100.00,EUR,INV-1,Acme,first,north\n"
        b'L2,2024-01-03,,-25.50,EUR,,Beta,"with ""quotes"", comma",south\n'
        b"bad,2024-13-01,,1.00,EUR,,,,\n"
        b"L4,2024-01-05,d4,0.01,USD,INV-4,\xc3\x9cml\xc3\xa4ut,,\n"
    )
    created = upload(preparer, project, data, mapping={"date": "booking_date"}).json()
    ready = wait_dataset(preparer, project.id, created["id"])
    assert (ready["rows"], ready["rejected"]) == (3, 1)

    with session_scope(session_factory) as session:
        dataset = session.get(Dataset, created["id"])
        assert dataset is not None
        table = load_dataset_arrow(session, dataset)
        with_rows = load_dataset_arrow(session, dataset, with_row_no=True)

    assert table.schema == pa.schema(
        [
            ("id", pa.string()),
            ("date", pa.date32()),
            ("value_date", pa.date32()),
            ("amount", pa.decimal128(38, 2)),
            ("currency", pa.string()),
            ("reference", pa.string()),
            ("counterparty", pa.string()),
            ("description", pa.string()),
            ("extra_date", pa.string()),  # the unmapped source column "date" clashes with the canonical one
            ("branch", pa.string()),
        ]
    )
    assert table.to_pylist() == [
        {
            "id": "L1", "date": dt.date(2024, 1, 2), "value_date": None, "amount": Decimal("100.00"),
            "currency": "EUR", "reference": "INV-1", "counterparty": "Acme", "description": "first",
            "extra_date": "d1", "branch": "north",
        },
        {
            "id": "L2", "date": dt.date(2024, 1, 3), "value_date": None, "amount": Decimal("-25.50"),
            "currency": "EUR", "reference": None, "counterparty": "Beta",
            "description": 'with "quotes", comma', "extra_date": None, "branch": "south",
        },
        {
            "id": "L4", "date": dt.date(2024, 1, 5), "value_date": None, "amount": Decimal("0.01"),
            "currency": "USD", "reference": "INV-4", "counterparty": "Ümläut", "description": None,
            "extra_date": "d4", "branch": None,
        },
    ]  # fmt: skip
    assert with_rows.column("_row").to_pylist() == [1, 2, 4]


def test_load_dataset_arrow_of_an_empty_dataset(
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    upload: Callable[..., Any],
    wait_dataset: Callable[..., dict[str, Any]],
    session_factory: SessionFactory,
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    created = upload(preparer, project, b"id,amount\n").json()
    assert wait_dataset(preparer, project.id, created["id"])["rows"] == 0

    with session_scope(session_factory) as session:
        dataset = session.get(Dataset, created["id"])
        assert dataset is not None
        table = load_dataset_arrow(session, dataset)

    assert table.num_rows == 0
    assert table.column_names[:4] == ["id", "date", "value_date", "amount"]


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_upload_to_s3_storage(
    make_settings: Callable[..., Settings],
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
    moto_endpoint: str,
    s3_bucket: str,
) -> None:
    settings = make_settings(storage_backend="s3", s3_bucket=s3_bucket, s3_endpoint_url=moto_endpoint)
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    with TestClient(create_app(settings)) as client:
        response = client.post(
            datasets_url(project), files={"file": ("ledger.csv", LEDGER_CSV)}, headers=auth_headers(preparer)
        )
        assert response.status_code == 202, response.text
        created = response.json()
        deadline = time.monotonic() + WAIT_S
        current = created
        while current["status"] not in ("ready", "failed") and time.monotonic() < deadline:
            time.sleep(0.05)
            url = f"{datasets_url(project)}/{created['id']}"
            current = client.get(url, headers=auth_headers(preparer)).json()

    assert current["status"] == "ready", current
    assert current["rows"] == 3
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket)["Contents"])
    # the upload, and the records' Arrow file the runs load (recon.datasets.records_file)
    assert keys == [
        f"records/{created['id']}/{created['job_id']}.arrow",
        f"uploads/{created['sha256'][:2]}/{created['sha256']}",
    ]
    body = s3.get_object(Bucket=s3_bucket, Key=keys[1])["Body"].read()
    assert body == LEDGER_CSV
    assert not (settings.data_dir / "objects").exists()
