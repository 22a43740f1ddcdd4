"""Hostile files against the ingest limits: each is refused fast with a message naming the limit and its
setting, through the parsers and through upload + ingestion job on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from xlsx_bombs import rows_bomb, whitespace_bomb

from recon.app import create_app
from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.datasets.parsing import parse_dataset, probe_columns
from recon.ingest import IngestError, ReadOptions, read_bytes, read_file
from recon.ingest.limits import IngestLimits, LimitExceeded
from recon.models import Project, User
from recon.models.jobs import Job
from recon.worker.embedded import runner_from_settings
from recon.worker.runner import WorkerRunner

Headers = Callable[[User | str], dict[str, str]]


def wide_csv(columns: int, name: str = "c{}") -> bytes:
    header = ",".join(["id", "amount", *(name.format(i) for i in range(columns - 2))])
    return (header + "\n" + ",".join(["A1", "1.5", *("x" for _ in range(columns - 2))]) + "\n").encode()


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Built once: ~1 MB holding 1 GiB of whitespace, ~1.6 MB holding 25M rows."""
    folder = tmp_path_factory.mktemp("bombs")
    return {
        "whitespace": whitespace_bomb(folder / "whitespace.xlsx", gib=1.0),
        "rows": rows_bomb(folder / "rows.xlsx", 25_000_000),
    }


# -- the parsers ------------------------------------------------------------------------------------------
def test_150000_columns_are_refused_before_any_typing(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes(wide_csv(150_000))
    started = time.perf_counter()
    with pytest.raises(
        LimitExceeded, match=r"the header has 150,000 columns; the limit is 4,096 \(INGEST_MAX_COLUMNS\)"
    ):
        parse_dataset(path, filename="wide.csv", fmt="csv", options=ReadOptions(), requested={})
    assert time.perf_counter() - started < 30  # was 13+ minutes of one worker at 100 %: a generous bound


def test_a_header_longer_than_the_probe_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    names = [f"a_long_but_legal_column_name_{i:05d}" for i in range(30_000)]  # 1.1 MB > the 1 MiB probe
    path.write_bytes(
        ("id,amount," + ",".join(names) + "\nA1,1," + ",".join("x" * len(names)) + "\n").encode()
    )
    options = ReadOptions(limits=IngestLimits(max_columns=40_000))
    columns = probe_columns(path, filename="long.csv", fmt="csv", options=options)
    assert len(columns) == 30_002 and columns[-1] == names[-1]  # not cut: no false "repeats the column"
    short = ReadOptions(limits=IngestLimits(max_columns=40_000, max_row_bytes=500_000))
    with pytest.raises(LimitExceeded, match=r"line 1: .* the limit is 500,000 \(INGEST_MAX_ROW_BYTES\)"):
        probe_columns(path, filename="long.csv", fmt="csv", options=short)


def test_whitespace_bomb_is_refused_before_unzipping(bombs: dict[str, Path]) -> None:
    assert bombs["whitespace"].stat().st_size < 2_000_000
    started = time.perf_counter()
    with pytest.raises(
        LimitExceeded, match=r"unzips to 1,07\d,\d{3},\d{3} bytes .*INGEST_MAX_UNZIPPED_BYTES"
    ):
        read_file(bombs["whitespace"])
    assert time.perf_counter() - started < 10  # was 47 s and 3.3 GB


def test_a_bomb_within_the_byte_limit_is_stopped_by_the_ratio_or_rows_while_streaming(
    bombs: dict[str, Path],
) -> None:
    big = 4 * 2**30
    ratio = ReadOptions(limits=IngestLimits(max_unzipped_bytes=big))
    with pytest.raises(LimitExceeded, match=r"unzips \d[\d,]* times its size .*INGEST_MAX_ZIP_RATIO"):
        read_file(bombs["rows"], options=ratio)
    rows = ReadOptions(limits=IngestLimits(max_unzipped_bytes=big, max_zip_ratio=10_000, max_rows=50_000))
    started = time.perf_counter()
    with pytest.raises(
        LimitExceeded, match=r"more than 50,000 rows; the limit is 50,000 \(INGEST_MAX_ROWS\)"
    ):
        read_file(bombs["rows"], options=rows)
    assert time.perf_counter() - started < 60  # stops after 50,000 of 25M rows


def test_rows_bomb_is_refused_with_the_defaults(bombs: dict[str, Path]) -> None:
    assert bombs["rows"].stat().st_size < 3_000_000
    with pytest.raises(LimitExceeded, match=r"INGEST_MAX_UNZIPPED_BYTES|INGEST_MAX_ZIP_RATIO"):
        read_file(bombs["rows"])


@pytest.mark.parametrize(
    ("data", "filename", "limits", "message"),
    [
        (
            b"id,memo\nA1," + b"x" * 3000 + b"\n",
            "cell.csv",
            {"max_cell_bytes": 1000},
            r"row 1, column 'memo': a cell holds 3,000 bytes; the limit is 1,000 \(INGEST_MAX_CELL_BYTES\)",
        ),
        (
            b"id,a,b\nA1," + b"x" * 800 + b"," + b"y" * 800 + b"\n",
            "row.csv",
            {"max_row_bytes": 1000},
            r"row 1: a row holds 1,602 bytes; the limit is 1,000 \(INGEST_MAX_ROW_BYTES\)",
        ),
        (
            b"id\n" + b"A\n" * 11,
            "rows.csv",
            {"max_rows": 10},
            r"more than 10 rows; the limit is 10 \(INGEST_MAX_ROWS\)",
        ),
        (
            b'{"id": 1, "a": ' + b'{"b": ' * 70 + b"1" + b"}" * 70 + b"}\n{}",
            "deep.json",
            {},
            r"row 1: the JSON nests .* the limit is 64 \(INGEST_MAX_DEPTH\)",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "brackets.json", {}, r"\(INGEST_MAX_DEPTH\)"),
    ],
)
def test_each_limit_names_itself(data: bytes, filename: str, limits: dict[str, int], message: str) -> None:
    with pytest.raises(LimitExceeded, match=message):
        read_bytes(data, filename=filename, options=ReadOptions(limits=IngestLimits(**limits)))


def test_permanent_format_errors_are_ingest_errors() -> None:
    with pytest.raises(IngestError, match="lone surrogate"):
        read_bytes(b'[{"id": "\\udc00"}]', filename="x.json")
    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": ["A1"], "bad\x00name": [1]}), buffer)
    with pytest.raises(IngestError, match="NUL character in the column name at position 2"):
        read_bytes(buffer.getvalue(), filename="x.parquet")
    buffer = io.BytesIO()
    pq.write_table(pa.table({f"c{i}": [1] for i in range(5000)}), buffer)
    with pytest.raises(LimitExceeded, match="INGEST_MAX_COLUMNS"):
        read_bytes(buffer.getvalue(), filename="wide.parquet")


# -- through upload and the ingestion job, on both databases ------------------------------------------
@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(embedded_worker=False, job_isolation="process", job_lease_s=6.0)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def runner(settings: Settings, session_factory: SessionFactory) -> Iterator[WorkerRunner]:
    worker = runner_from_settings(settings, session_factory)
    worker.poll_interval_s = 0.05
    worker.start()
    yield worker
    worker.stop(grace_s=5)


def _ingested(
    client: TestClient, headers: dict[str, str], project: Project, filename: str, data: bytes, factory: Any
) -> tuple[dict[str, Any], Job]:
    created = client.post(
        f"/api/v1/projects/{project.id}/datasets",
        files={"file": (filename, data, "application/octet-stream")},
        headers=headers,
    )
    assert created.status_code in (201, 202), created.text
    body = created.json()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with session_scope(factory) as session:
            job = session.get(Job, body["job_id"])
            assert job is not None
            if job.status in ("succeeded", "failed"):
                session.expunge(job)
                dataset = client.get(f"/api/v1/projects/{project.id}/datasets/{body['id']}", headers=headers)
                return dataset.json(), job
        time.sleep(0.1)
    raise AssertionError(f"{filename} still ingesting after 120 s")


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("wide", "the header has 150,000 columns; the limit is 4,096 (INGEST_MAX_COLUMNS)"),
        ("whitespace", "the limit is 536,870,912 (INGEST_MAX_UNZIPPED_BYTES)"),
        ("rows", "(INGEST_MAX_"),
    ],
)
def test_hostile_uploads_fail_at_once_naming_the_limit(
    client: TestClient,
    runner: WorkerRunner,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
    session_factory: SessionFactory,
    bombs: dict[str, Path],
    kind: str,
    message: str,
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    filename, data = (
        ("wide.csv", wide_csv(150_000)) if kind == "wide" else (f"{kind}.xlsx", bombs[kind].read_bytes())
    )
    dataset, job = _ingested(client, auth_headers(preparer), project, filename, data, session_factory)
    assert (dataset["status"], job.status, job.attempts) == ("failed", "failed", 1)
    assert message in dataset["error"] and dataset["error"].startswith(f"{filename}: ")


def test_a_long_header_is_ingested_whole_when_the_limits_allow(
    make_settings: Callable[..., Settings],
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
    session_factory: SessionFactory,
) -> None:
    settings = make_settings(embedded_worker=False, job_isolation="process", ingest_max_columns=20_000)
    names = [f"a_long_but_legal_column_name_{i:05d}" for i in range(12_000)]  # 1.08 MB header line
    data = ("id,amount," + ",".join(names) + "\nA1,1.5," + ",".join("x" * len(names)) + "\n").encode()
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    with TestClient(create_app(settings)) as client:
        worker = runner_from_settings(settings, session_factory)
        worker.poll_interval_s = 0.05
        worker.start()
        try:
            dataset, _ = _ingested(client, auth_headers(preparer), project, "long.csv", data, session_factory)
        finally:
            worker.stop(grace_s=5)
    assert (dataset["status"], dataset["rows"]) == ("ready", 1), dataset.get("error")
    assert len(dataset["source_columns"]) == 12_002
