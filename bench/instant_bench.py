"""Instant reconciliation benchmark: POST /projects/{id}/transactions:reconcile with 10,000 transactions
against a dataset of 1,000,000 open items, on SQLite and PostgreSQL (in-process ASGI client: request
validation, matching, closing, response encoding; no network).

    uv run python bench/instant_bench.py                           # both databases, 1M items, 50 requests
    uv run python bench/instant_bench.py --database sqlite --items 200000 --requests 10

Per request: 10,000 transactions, half of them the exact partner of an open item (reference and amount), a
quarter a near partner (no reference; amount within 0.01, date within 3 days), a quarter matching nothing;
every request its own items, so each closes ~7,500 of them. Each request carries an Idempotency-Key (the
answer is stored for replays). Prints the one-off time to index the open items (first request), then p50,
p99 and max of the requests, against the target p99 <= 500 ms, and the CPU time the process spent per request
(client and server share the process: on a loaded machine the wall time is several times the CPU time). The
request bodies are JSON-encoded before the clock starts (the client's encoding is not the server's latency;
until 2026-12 it was inside the timing, ~20-30 ms of CPU per request). With 50 requests the p99 (index
round(0.99 * 49) = 49 of the sorted latencies) is the slowest request.
Writes bench/out/instant_bench.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, text
from sqlalchemy.pool import NullPool

from recon.app import create_app
from recon.auth.security import create_access_token
from recon.config import Settings
from recon.core.db import session_scope
from recon.core.money import sortable_text
from recon.core.time import utcnow
from recon.demo.rules import CALENDAR_DAYS, exact_pass, near_pass, rules
from recon.models import (
    Dataset,
    DatasetStatus,
    Organization,
    Project,
    ProjectMember,
    Role,
    RuleSet,
    RuleSetVersion,
    User,
)

PG_ADMIN_URL = os.environ.get("RECON_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
OUT = Path(__file__).resolve().parent / "out"
TARGET_P99_MS = 500.0
BATCH = 10_000
START = dt.date(2024, 1, 1)
# The demo rule set's exact pass, then a near pass without scoring (the bench records have no names or texts).
RULES = rules("instant-bench", exact_pass("exact"), near_pass(CALENDAR_DAYS))


def record(n: int) -> tuple[str, dt.date, Decimal, str]:
    """The n-th open item: id, date, amount (distinct cents), reference."""
    amount = Decimal(n * 7919 % 9_000_000 + 1000) / 100
    return f"L{n}", START + dt.timedelta(days=n % 365), amount if n % 4 else -amount, f"INV-{n:08d}"


def postgres_url() -> tuple[str, str] | None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"recon_instant_bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"PostgreSQL not reachable ({str(exc).splitlines()[0]}): skipped")
        return None
    finally:
        admin.dispose()
    return admin.url.set(database=name).render_as_string(hide_password=False), name


def drop_postgres(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def seed(settings: Settings, session_factory: Any, items: int) -> dict[str, str]:
    with session_scope(session_factory) as session:
        org = Organization(name="bench")
        session.add(org)
        session.flush()
        user = User(org_id=org.id, email=f"bench-{uuid.uuid4().hex[:8]}@example.com", password_hash="unused")
        session.add(user)
        session.flush()
        project = Project(org_id=org.id, name="instant", created_by_id=user.id)
        session.add(project)
        session.flush()
        session.add(ProjectMember(project_id=project.id, user_id=user.id, role=Role.OWNER))
        ruleset = RuleSet(project_id=project.id, name="instant", latest_version=1, created_by_id=user.id)
        session.add(ruleset)
        session.flush()
        session.add(
            RuleSetVersion(
                ruleset_id=ruleset.id,
                version=1,
                text=RULES,
                format="yaml",
                sha256="0" * 64,
                rules_name="instant-bench",
                created_by_id=user.id,
            )
        )
        dataset = Dataset(
            project_id=project.id, name="ledger", filename="ledger.csv", format="csv", sha256="1" * 64,
            size=0, storage_key="bench", status=DatasetStatus.READY, rows=items, created_by_id=user.id,
            ingested_at=utcnow(),
        )  # fmt: skip
        session.add(dataset)
        session.flush()
        _records(session, dataset.id, items)
        ids = {"user": user.id, "project": project.id, "ruleset": ruleset.id, "dataset": dataset.id}
    return ids


def _records(session: Any, dataset_id: str, items: int) -> None:
    columns = ("dataset_id", "row_no", "ext_id", "date", "amount", "currency", "reference")
    if session.get_bind().dialect.name == "postgresql":
        raw = session.connection().connection.driver_connection
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY dataset_records ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for n in range(1, items + 1):
                ext, day, amount, ref = record(n)
                copy.write_row((dataset_id, n, ext, day, amount, "EUR", ref))
        return
    from recon.models import DatasetRecord

    for start in range(1, items + 1, 50_000):
        rows = []
        for n in range(start, min(start + 50_000, items + 1)):
            ext, day, amount, ref = record(n)
            rows.append({"dataset_id": dataset_id, "row_no": n, "ext_id": ext, "date": day, "amount": amount,
                         "currency": "EUR", "reference": ref})  # fmt: skip
        session.execute(insert(DatasetRecord), rows)
    assert sortable_text  # the Money type writes the sortable text on SQLite


def transactions(request_no: int, items: int) -> list[dict[str, Any]]:
    """10,000 transactions of one request; its partners are items no other request touches."""
    out: list[dict[str, Any]] = []
    base = request_no * BATCH
    for k in range(BATCH):
        n = (base + k) % items + 1
        _, day, amount, ref = record(n)
        if k % 4 < 2:  # exact: the bank shows the reference with other decoration
            out.append({"id": f"B{request_no}-{k}", "reference": f"/REF/{ref}", "amount": str(amount),
                        "currency": "EUR", "date": day.isoformat()})  # fmt: skip
        elif k % 4 == 2:  # near: no reference, a cent off, two days later
            near = {"amount": str(amount + Decimal("0.01")), "date": (day + dt.timedelta(days=2)).isoformat()}
            out.append({"id": f"B{request_no}-{k}", "currency": "EUR", **near})
        else:  # nothing like it
            out.append(
                {"id": f"B{request_no}-{k}", "reference": f"X{k}", "amount": "0.03", "currency": "USD"}
            )
    return out


def run(database: str, url: str, data_dir: Path, items: int, requests: int, index: str) -> dict[str, Any]:
    # environment "development": the app as `recon serve` starts it (a test app skips the startup gc.freeze)
    options: dict[str, Any] = dict(
        _env_file=None, environment="development", database_url=url, data_dir=data_dir, embedded_worker=False,
        metrics_port=0, rate_limit_enabled=False, frontend_dist=None, scheduler_tick_s=0, log_level="WARNING",
        instant_inline_index_rows=items,
    )  # fmt: skip
    started = time.perf_counter()
    if index == "job":  # the product's path above INSTANT_INLINE_INDEX_ROWS: a worker's job builds the book
        job_settings = Settings(**{**options, "embedded_worker": True, "instant_inline_index_rows": 0})
        with TestClient(create_app(job_settings)) as client:
            ids = seed(job_settings, client.app.state.session_factory, items)  # type: ignore[attr-defined]
            seeded_s = time.perf_counter() - started
            headers = {"Authorization": f"Bearer {create_access_token(job_settings, ids['user'])}"}
            url_ = f"/api/v1/projects/{ids['project']}/transactions:reconcile"
            base = {"dataset_id": ids["dataset"], "ruleset_id": ids["ruleset"]}
            started = time.perf_counter()
            status = client.post(url_, json={**base, "transactions": []}, headers=headers).status_code
            while status in (202, 409):  # indexing
                time.sleep(0.5)
                status = client.post(url_, json={**base, "transactions": []}, headers=headers).status_code
            assert status == 200, status
            index_s = time.perf_counter() - started
    settings = Settings(**options)
    with TestClient(create_app(settings)) as client:
        if index != "job":
            ids = seed(settings, client.app.state.session_factory, items)  # type: ignore[attr-defined]
            seeded_s = time.perf_counter() - started
        headers = {"Authorization": f"Bearer {create_access_token(settings, ids['user'])}"}
        url_ = f"/api/v1/projects/{ids['project']}/transactions:reconcile"
        base = {"dataset_id": ids["dataset"], "ruleset_id": ids["ruleset"]}
        if index != "job":
            started = time.perf_counter()  # indexed inside the first request (INSTANT_INLINE_INDEX_ROWS)
            first = client.post(url_, json={**base, "transactions": []}, headers=headers)
            index_s = time.perf_counter() - started
            assert first.status_code == 200, first.text
        else:  # a fresh process's first request (statement and schema caches) is warm-up, as in inline mode
            warm = client.post(url_, json={**base, "transactions": []}, headers=headers)
            assert warm.status_code == 200, warm.text
        latencies, cpu, matched, breaks = [], [], 0, 0
        load_start = round(os.getloadavg()[0], 2)
        for request_no in range(requests):
            # encoded before the clock starts: a client's own JSON encoding is not the server's latency
            # (client and server share this process)
            body = json.dumps({**base, "transactions": transactions(request_no, items)}).encode()
            key = {"Idempotency-Key": f"bench-{request_no}", "Content-Type": "application/json"}
            started, started_cpu = time.perf_counter(), time.process_time()
            answer = client.post(url_, content=body, headers={**headers, **key})
            latencies.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            assert answer.status_code == 200, answer.text[:500]
            summary = answer.json()["summary"]
            matched += summary["matched"]
            breaks += summary["breaks"]
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "database": database, "open_items": items, "index": index, "transactions_per_request": BATCH,
        "requests": requests,
        "seed_s": round(seeded_s, 1), "index_first_request_s": round(index_s, 1),
        "p50_ms": round(statistics.median(latencies), 1), "p99_ms": round(p99, 1),
        "max_ms": round(ordered[-1], 1),
        "cpu_p50_ms": round(statistics.median(cpu), 1), "cpu_max_ms": round(max(cpu), 1),
        "matched_per_request": round(matched / requests), "target_p99_ms": TARGET_P99_MS,
        "met": p99 <= TARGET_P99_MS, "load_avg_1m_start": load_start,
        "slowest": sorted(((round(ms, 1), n) for n, ms in enumerate(latencies)), reverse=True)[:5],
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument(
        "--index", choices=["inline", "job"], default="inline",
        help="build the book inside the first request (inline) or by an indexing job (the product's path "
        "above INSTANT_INLINE_INDEX_ROWS; on PostgreSQL the job VACUUMs the book tables)",
    )  # fmt: skip
    args = parser.parse_args()
    results = []
    for database in ("sqlite", "postgres") if args.database == "both" else (args.database,):
        with tempfile.TemporaryDirectory(prefix="recon-instant-bench-") as tmp:
            from recon.core.migrations import upgrade_head

            if database == "sqlite":
                url, name = f"sqlite:///{tmp}/bench.db", None
            else:
                made = postgres_url()
                if made is None:
                    continue
                url, name = made
            try:
                settings = Settings(_env_file=None, environment="test", database_url=url, data_dir=Path(tmp))
                upgrade_head(settings)
                result = run(database, url, Path(tmp), args.items, args.requests, args.index)
            finally:
                if name:
                    drop_postgres(name)
        results.append(result)
        print(json.dumps(result), flush=True)
    OUT.mkdir(exist_ok=True)
    (OUT / "instant_bench.json").write_text(json.dumps(results, indent=2) + "\n")
    sys.exit(0 if all(r["met"] for r in results) else 1)


if __name__ == "__main__":
    main()
