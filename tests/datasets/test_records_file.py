"""The ingestion's Arrow file of the records (recon.datasets.records_file): the same table the database read
answers (awkward texts, nulls, amounts at the file's scale, extra columns, a clashing extra name), written
under the committed job, read only for that job, removed with the dataset; a run loads it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.datasets import load_dataset_arrow
from recon.datasets.records_file import read_records_file, records_key
from recon.models import Dataset, Project, User
from recon.storage import get_store

AWKWARD = ['say "hi", then \\ go', "tab\there", "line\nbreak", "Ümläut ✓ 😀", '{"looks": "json"}', "", "a\\"]


def _csv() -> bytes:
    lines = ["id,date,amount,currency,reference,description,branch,amount_2"]
    for n, value in enumerate(AWKWARD * 2, start=1):
        quoted = '"' + value.replace('"', '""') + '"'
        amount = f"-{n}.05" if n % 2 else f"{n * 1000}.5"
        branch = "" if n % 3 == 0 else f'"b{n} ""x"""'
        lines.append(f"R{n},2024-02-{n:02d},{amount},EUR,{quoted},{quoted},{branch},{n}.125")
    return ("\n".join(lines) + "\n").encode()


@dataclass
class Ingested:
    preparer: User
    project: Project
    created: dict[str, Any]


@pytest.fixture
def ingest(
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    upload: Callable[..., Any],
    wait_dataset: Callable[..., dict[str, Any]],
) -> Callable[[bytes], Ingested]:
    """ingest(csv bytes): a preparer's project with the file uploaded and its ingestion finished."""

    def run(data: bytes) -> Ingested:
        project = make_project()
        preparer = make_user(role="preparer", project=project)
        created = upload(preparer, project, data).json()
        ready = wait_dataset(preparer, project.id, created["id"])
        assert ready["status"] == "ready", ready
        return Ingested(preparer, project, ready)

    return run


def _dataset(session_factory: SessionFactory, dataset_id: str) -> Dataset:
    with session_scope(session_factory) as session:
        dataset = session.get(Dataset, dataset_id)
        assert dataset is not None
        session.expunge(dataset)
        return dataset


def test_records_file_is_the_database_read(
    ingest: Callable[[bytes], Ingested],
    session_factory: SessionFactory,
    settings: Settings,
    client: TestClient,
    auth_headers: Callable[[User | str], dict[str, str]],
) -> None:
    scene = ingest(_csv())
    created = scene.created
    assert created["rows"] == len(AWKWARD) * 2, created
    store = get_store(settings)
    dataset = _dataset(session_factory, created["id"])
    assert dataset.job_id is not None
    assert store.exists(records_key(dataset.id, dataset.job_id))

    from_file = read_records_file(store, dataset)
    assert from_file is not None
    with session_scope(session_factory) as session:
        stored = session.get(Dataset, created["id"])
        assert stored is not None
        from_database = load_dataset_arrow(session, stored, with_row_no=True)
    assert from_file.schema.equals(from_database.schema)
    assert from_file.to_pylist() == from_database.to_pylist()
    assert "amount_2" in from_file.column_names and "branch" in from_file.column_names

    # Another job's file (a superseded or uncommitted ingestion) is never read.
    dataset.job_id = "00000000-0000-0000-0000-000000000000"
    assert read_records_file(store, dataset) is None

    response = client.delete(
        f"/api/v1/projects/{scene.project.id}/datasets/{created['id']}", headers=auth_headers(scene.preparer)
    )
    assert response.status_code == 204, response.text
    assert list(store.list_objects(f"records/{created['id']}")) == []


def test_a_file_not_matching_the_dataset_is_not_used(
    ingest: Callable[[bytes], Ingested], session_factory: SessionFactory, settings: Settings
) -> None:
    store = get_store(settings)
    dataset = _dataset(session_factory, ingest(_csv()).created["id"])
    assert dataset.job_id is not None
    key = records_key(dataset.id, dataset.job_id)

    dataset.rows = (dataset.rows or 0) + 1  # the row says otherwise: the database is read instead
    assert read_records_file(store, dataset) is None
    dataset.rows = len(AWKWARD) * 2
    store.put_bytes(key, b"not an arrow file")
    assert read_records_file(store, dataset) is None


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_empty_extra_and_no_amount_scale_round_trip(
    ingest: Callable[[bytes], Ingested], session_factory: SessionFactory, settings: Settings
) -> None:
    created = ingest(b"id,date,amount\nA,2024-01-01,10\nB,2024-01-02,-3\nC,,7\n").created
    dataset = _dataset(session_factory, created["id"])
    from_file = read_records_file(get_store(settings), dataset)
    assert from_file is not None
    with session_scope(session_factory) as session:
        stored = session.get(Dataset, created["id"])
        assert stored is not None
        assert from_file.to_pylist() == load_dataset_arrow(session, stored, with_row_no=True).to_pylist()
