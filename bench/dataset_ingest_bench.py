"""Dataset ingestion benchmark: a demo ledger of N rows through the real `ingest_dataset` job on a throw-away
database (PostgreSQL by default), then `load_dataset_arrow` back. Prints wall time per phase.

    uv run python bench/dataset_ingest_bench.py --rows 1000000
    uv run python bench/dataset_ingest_bench.py --rows 100000 --database sqlite

Phases: parse (the stored file -> canonical Arrow records, via recon.ingest), store (one transaction: delete,
COPY/executemany of records and rejections, status), job (the whole task as the worker runs it, including
both), load (load_dataset_arrow, the bulk path runs use).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

import structlog
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from recon.config import Settings
from recon.core.db import create_db_engine, create_session_factory, session_scope
from recon.core.migrations import upgrade_head
from recon.datasets import load_dataset_arrow
from recon.datasets.parsing import parse_dataset
from recon.demo import generate
from recon.ingest import ReadOptions
from recon.jobs import enqueue
from recon.models import Dataset, Organization, Project, User
from recon.storage import get_store
from recon.worker.embedded import runner_from_settings

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _timed(label: str, started: float) -> float:
    elapsed = time.perf_counter() - started
    print(f"{label:<34} {elapsed:8.2f} s")
    return elapsed


def _database(kind: str, workdir: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}", None
    name = f"recon_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin.url.set(database=name).render_as_string(hide_password=False), name


def _drop(name: str | None) -> None:
    if name is None:
        return
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def run(rows: int, database: str) -> None:
    # INFO: the task's `dataset_ingested` line splits the job into parse_s and store_s.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(20))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url, pg_name = _database(database, workdir)
        try:
            settings = Settings(
                _env_file=None, database_url=url, data_dir=workdir, environment="test", embedded_worker=False
            )
            upgrade_head(settings)
            started = time.perf_counter()
            ledger = generate(rows, workdir / "demo").left
            _timed(f"generate demo ledger ({rows} rows)", started)
            print(f"{'file size':<34} {ledger.stat().st_size / 1e6:8.1f} MB")

            started = time.perf_counter()
            options = ReadOptions()
            parsed = parse_dataset(ledger, filename=ledger.name, fmt="csv", options=options, requested={})
            _timed("parse only (probe + read + layout)", started)
            del parsed

            engine = create_db_engine(settings)
            factory = create_session_factory(engine)
            store = get_store(settings)
            started = time.perf_counter()
            with ledger.open("rb") as stream:
                stored = store.put_stream(stream, max_bytes=settings.upload_max_bytes)
            _timed("store the file (sha256, local store)", started)
            with session_scope(factory) as session:
                org = Organization(name="bench")
                session.add(org)
                session.flush()
                user = User(org_id=org.id, email="bench@example.com", password_hash="x")
                project = Project(org_id=org.id, name="bench")
                session.add_all([user, project])
                session.flush()
                dataset = Dataset(
                    project_id=project.id, name="ledger", filename=ledger.name, format="csv",
                    sha256=stored.sha256, size=stored.size, storage_key=stored.key, created_by_id=user.id,
                )  # fmt: skip
                session.add(dataset)
                session.flush()
                dataset.job_id = enqueue(session, "ingest_dataset", {"dataset_id": dataset.id}).id
                dataset_id = dataset.id

            runner = runner_from_settings(settings, factory, concurrency=1)
            started = time.perf_counter()
            runner.run_until_idle()
            _timed("ingest_dataset job (parse + store)", started)

            with session_scope(factory) as session:
                dataset = session.get(Dataset, dataset_id)
                assert dataset is not None
                outcome = f"{dataset.status} / {dataset.rows} / {dataset.rejected}"
                print(f"{'status / rows / rejected':<34} {outcome}")
                started = time.perf_counter()
                table = load_dataset_arrow(session, dataset)
                _timed(f"load_dataset_arrow ({table.num_rows} rows)", started)
            engine.dispose()
        finally:
            _drop(pg_name)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    args = parser.parse_args()
    run(args.rows, args.database)


if __name__ == "__main__":
    main()
