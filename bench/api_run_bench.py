"""End-to-end run benchmark through the HTTP API: `recon serve` (embedded worker) on a throw-away PostgreSQL
database, the demo ledger and bank files of N rows each.

    uv run python bench/api_run_bench.py --rows 1000000
    uv run python bench/api_run_bench.py --rows 100000 --demo-dir /tmp/demo100k   # reuse generated files

Phases (wall seconds, measured from outside except where noted): upload of each file (the two in parallel),
ingest of each dataset (its job's started -> finished), the run (queue wait, then the task's own phases from
summary.phases_s: load, match, build, persist), and end to end: first upload byte -> run succeeded.
Then listing latency at deep cursors: GET /runs/{id}/groups and /unmatched?side=left, walking to about the
middle with limit=1000, then 200 timed requests going on from there (limit 1000 and limit 50), p50/p99; and
EXPLAIN ANALYZE of the deep-cursor queries (index range scans, no sort of the run).
Targets (issue 4): end to end <= 60 s on 2 cores; listing p99 <= 50 ms. Writes bench/out/api_run_bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

from recon.config import Settings
from recon.core.migrations import upgrade_head
from recon.core.pagination import decode_cursor
from recon.demo import generate
from recon.models.runs import ItemState, MatchGroup, RunItem
from recon.results.keyset import Order, _segment

PG_ADMIN_URL = os.environ.get("RECON_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
OUT = Path(__file__).resolve().parent / "out"
ADMIN_EMAIL = "run-bench@example.com"
ADMIN_PASSWORD = "bench-password-" + uuid.uuid4().hex[:12]
TIMED_REQUESTS = 200


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_database() -> tuple[str, str]:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"recon_run_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin.url.set(database=name).render_as_string(hide_password=False), name


def drop_database(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def stamp(value: str | None) -> float:
    assert value is not None
    return datetime.fromisoformat(value).timestamp()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


class Api:
    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=600)
        token = self.client.post(
            "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        token.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def call(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.client.request(method, url, **kwargs)
        if response.status_code >= 400:
            raise SystemExit(f"{method} {url}: {response.status_code} {response.text[:500]}")
        return response.json()

    def wait(self, url: str, done: tuple[str, ...], every_s: float = 0.25) -> dict[str, Any]:
        while True:
            body: dict[str, Any] = self.call("GET", url)
            if body["status"] in done:
                return body
            time.sleep(every_s)


def upload(base: str, headers: dict[str, str], project_id: str, path: Path) -> tuple[str, float]:
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=600, headers=headers) as client, path.open("rb") as handle:
        response = client.post(
            f"/api/v1/projects/{project_id}/datasets", files={"file": (path.name, handle, "text/csv")}
        )
    if response.status_code >= 400:
        raise SystemExit(f"upload of {path.name}: {response.status_code} {response.text[:300]}")
    return str(response.json()["id"]), time.perf_counter() - started


def walk_and_time(api: Api, url: str, params: dict[str, Any], total: int) -> dict[str, Any]:
    """Walk to about the middle with limit=1000, then time TIMED_REQUESTS pages from there on."""
    cursor, pages, walked, walk_times = None, 0, 0, []
    while walked < total // 2:
        started = time.perf_counter()
        body = api.call(
            "GET", url, params={**params, "limit": 1000, **({"cursor": cursor} if cursor else {})}
        )
        walk_times.append(time.perf_counter() - started)
        walked += len(body["items"])
        pages += 1
        if body["next_cursor"] is None:
            break
        cursor = body["next_cursor"]
    figures: dict[str, Any] = {
        "rows": total,
        "walked_rows": walked,
        "walk_pages": pages,
        "walk_page_ms_mean": round(statistics.fmean(walk_times) * 1000, 1),
        "deep_cursor": decode_cursor(cursor, 2) if cursor else None,
    }
    for limit in (1000, 50):
        times, next_cursor = [], cursor
        for _ in range(TIMED_REQUESTS):
            query = {**params, "limit": limit, **({"cursor": next_cursor} if next_cursor else {})}
            started = time.perf_counter()
            response = api.client.get(url, params=query)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text[:300]
            next_cursor = response.json()["next_cursor"] or cursor  # at the end: back to the middle
        figures[f"limit_{limit}"] = {"p50_ms": pct(times, 0.5), "p99_ms": pct(times, 0.99), "n": len(times)}
    return figures


def explain(
    url: str, run_id: str, group_cursor: list[Any] | None, item_cursor: list[Any] | None
) -> dict[str, str]:
    """EXPLAIN ANALYZE of the deep-cursor queries as the results repository builds them."""
    plans = {}
    queries = {
        "groups": _segment(
            select(MatchGroup).where(MatchGroup.run_id == run_id),
            Order(MatchGroup.seq, MatchGroup.seq),
            False,
            group_cursor,
        ).limit(51),
        "unmatched_left": _segment(
            select(RunItem).where(
                RunItem.run_id == run_id, RunItem.side == "left", RunItem.state == ItemState.UNMATCHED.value
            ),
            Order(RunItem.id, RunItem.id),
            False,
            item_cursor,
        ).limit(51),
    }
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        for name, query in queries.items():
            compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
            sql = str(compiled)
            rows = conn.execute(text("EXPLAIN (ANALYZE, COSTS OFF) " + sql)).scalars().all()
            plans[name] = "\n".join(rows)
    engine.dispose()
    return plans


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--demo-dir", type=Path, default=None, help="reuse (or create) the demo files here")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="recon-run-bench-"))
    demo_dir = args.demo_dir or work / "demo"
    if not (demo_dir / "ledger.csv").exists():
        started = time.perf_counter()
        generate(args.rows, demo_dir)
        print(f"generated the demo files ({args.rows} rows) in {time.perf_counter() - started:.1f} s")
    files = {"left": demo_dir / "ledger.csv", "right": demo_dir / "bank.csv"}
    url, name = create_database()
    settings = Settings(_env_file=None, database_url=url, data_dir=work / "data", environment="test")
    upgrade_head(settings)  # as the migration job does in production
    port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "development",  # as deployed, minus production's secret checks
        "DATABASE_URL": url,
        "DATA_DIR": str(work / "data"),
        "PORT": str(port),
        "METRICS_PORT": "0",
        "RATE_LIMIT_ENABLED": "false",
        "EMBEDDED_WORKER": "true",
        "WORKER_CONCURRENCY": "2",
        "RECON_ADMIN_EMAIL": ADMIN_EMAIL,
        "RECON_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "LOG_LEVEL": "INFO",
        "AUTO_MIGRATE": "false",
    }
    log = (OUT / "api_run_bench_server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "recon.cli", "serve"], env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    report: dict[str, Any] = {
        "rows": args.rows,
        "files_mb": {k: round(p.stat().st_size / 1e6, 1) for k, p in files.items()},
    }
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("recon serve did not become ready (see bench/out/api_run_bench_server.log)")
            time.sleep(0.1)
        api = Api(base)
        project_id = api.call("POST", "/api/v1/projects", json={"name": "run bench"})["id"]
        rules_text = (demo_dir / "rules.yaml").read_text()
        ruleset_id = api.call(
            "POST", f"/api/v1/projects/{project_id}/rulesets", json={"name": "demo", "text": rules_text}
        )["id"]

        t0 = time.perf_counter()
        headers = dict(api.client.headers)
        with ThreadPoolExecutor(2) as pool:
            futures = {
                side: pool.submit(upload, base, headers, project_id, path) for side, path in files.items()
            }
            uploaded = {side: future.result() for side, future in futures.items()}
        datasets = {}
        for side, (dataset_id, seconds) in uploaded.items():
            report[f"upload_{side}_s"] = round(seconds, 2)
            datasets[side] = api.wait(
                f"/api/v1/projects/{project_id}/datasets/{dataset_id}", ("ready", "failed")
            )
            if datasets[side]["status"] != "ready":
                raise SystemExit(f"ingestion of {side} failed: {datasets[side]['error']}")
        for side, dataset in datasets.items():
            job = api.call("GET", f"/api/v1/jobs/{dataset['job_id']}")
            report[f"ingest_{side}_s"] = round(stamp(job["finished_at"]) - stamp(job["started_at"]), 2)
        report["uploads_and_ingests_s"] = round(time.perf_counter() - t0, 2)

        run = api.call(
            "POST",
            f"/api/v1/projects/{project_id}/runs",
            json={
                "left_dataset_id": datasets["left"]["id"],
                "right_dataset_id": datasets["right"]["id"],
                "ruleset_id": ruleset_id,
            },
        )
        run = api.wait(f"/api/v1/runs/{run['id']}", ("succeeded", "failed", "cancelled"))
        report["end_to_end_s"] = round(time.perf_counter() - t0, 2)
        if run["status"] != "succeeded":
            raise SystemExit(f"the run {run['status']}: {run['error']}")
        job = run["job"]
        full_job = api.call("GET", f"/api/v1/jobs/{job['id']}")
        report["run_job_s"] = round(stamp(full_job["finished_at"]) - stamp(full_job["started_at"]), 2)
        report["run_wait_in_queue_s"] = round(stamp(full_job["started_at"]) - stamp(run["created_at"]), 2)
        report["run_phases_s"] = run["summary"]["phases_s"]
        summary = run["summary"]
        groups = sum(p["groups"] for p in summary["passes"])
        unmatched_left = summary["left"]["unmatched"] + summary["left"]["rejected"]
        report["results"] = {
            "groups": groups,
            "items": summary["left"]["rows"] + summary["right"]["rows"],
            "unmatched_left": unmatched_left,
            "matched_left": summary["left"]["matched"],
        }
        print(json.dumps(report, indent=2))

        listing = {
            "groups": walk_and_time(api, f"/api/v1/runs/{run['id']}/groups", {}, groups),
            "unmatched_left": walk_and_time(
                api, f"/api/v1/runs/{run['id']}/unmatched", {"side": "left"}, unmatched_left
            ),
        }
        report["listing"] = listing
        report["explain"] = explain(
            url, run["id"], listing["groups"]["deep_cursor"], listing["unmatched_left"]["deep_cursor"]
        )
        print(json.dumps({"listing": listing}, indent=2))
        for name_, plan in report["explain"].items():
            print(f"--- EXPLAIN {name_}\n{plan}")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
        if not args.keep_db:
            drop_database(name)
        (OUT / "api_run_bench.json").write_text(json.dumps(report, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
