"""A large export through the job path, and rows streamed in chunks (never the whole run in memory).

XLSX is left out here: openpyxl writes ~3k rows/s (its sheets past the row limit are tested with a small
limit in test_cells_and_writers)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from decimal import Decimal

import pytest
from export_helpers import API, Headers, RunSpec, bulk_unmatched, export_and_download, make_run
from fastapi.testclient import TestClient

from recon.core.db import SessionFactory
from recon.core.time import utcnow
from recon.exports.produce import produce, read_snapshot
from recon.exports.sections import Scope
from recon.models import Project, User

ROWS = 40_000
# The chunking test needs many chunks, not many rows: 16 chunks of 250 prove what 40 of 1,000 did (its 40k-row
# run cost 10-20 s of setup per backend).
CHUNKED_ROWS, CHUNK = 4_000, 250


@pytest.fixture
def make_large_run(
    session_factory: SessionFactory, make_project: Callable[..., Project], make_user: Callable[..., User]
) -> Callable[[int], tuple[str, Project, User]]:
    def make(rows: int) -> tuple[str, Project, User]:
        owner = make_user()
        project = make_project(owner=owner)
        run_id = make_run(session_factory, project, owner, RunSpec(unmatched=bulk_unmatched(rows)))
        return run_id, project, owner

    return make


@pytest.fixture
def large_run(make_large_run: Callable[[int], tuple[str, Project, User]]) -> tuple[str, Project, User]:
    return make_large_run(ROWS)


def _expected_amount(i: int) -> Decimal:
    return Decimal(i % 100_000).scaleb(-2) * (-1 if i % 3 == 0 else 1)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_large_export_through_the_job(
    client: TestClient, auth_headers: Headers, large_run: tuple[str, Project, User]
) -> None:
    run_id, _project, owner = large_run
    headers = auth_headers(owner)
    direct = client.get(f"{API}/runs/{run_id}/export.csv", params={"what": "unmatched"}, headers=headers)
    assert direct.status_code == 200  # 40k rows are under the default direct limit (100k)

    export, data, _ = export_and_download(client, headers, run_id, "unmatched", "csv")
    assert export["rows"] == ROWS
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    assert len(rows) == ROWS
    # left items (even i) first, then right items, each in insertion order
    order = [i for i in range(ROWS) if i % 2 == 0] + [i for i in range(ROWS) if i % 2 == 1]
    assert [row["ext_id"] for row in rows] == [f"U{i:07d}" for i in order]
    assert all(Decimal(row["amount"]) == _expected_amount(i) for row, i in zip(rows, order, strict=True))
    direct_rows = list(csv.DictReader(io.StringIO(direct.content.decode("utf-8"), newline="")))
    assert [row["ext_id"] for row in direct_rows] == [row["ext_id"] for row in rows]

    # JSON lines of all sections (a ZIP); audit: direct download, created, downloaded, created
    export, data, _ = export_and_download(client, headers, run_id, "all", "json")
    assert export["counts"] == {"groups": 0, "unmatched": ROWS, "breaks": 0, "audit": 4}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        lines = archive.read("unmatched.jsonl").splitlines()
    assert [json.loads(line)["ext_id"] for line in lines] == [row["ext_id"] for row in rows]


def test_rows_are_streamed_in_chunks(
    session_factory: SessionFactory, make_large_run: Callable[[int], tuple[str, Project, User]]
) -> None:
    run_id, project, _owner = make_large_run(CHUNKED_ROWS)
    ticks: list[int] = []
    out = io.BytesIO()
    with session_factory() as session:
        read_snapshot(session)
        scope = Scope(run_id=run_id, project_id=project.id, as_of=utcnow())
        counts = produce(session, scope, "unmatched", "json", out, tick=ticks.append, chunk_rows=CHUNK)
    assert counts == {"unmatched": CHUNKED_ROWS}
    assert ticks == list(range(CHUNK, CHUNKED_ROWS + 1, CHUNK))
    assert out.getvalue().count(b"\n") == CHUNKED_ROWS
