"""End-to-end run benchmark through the HTTP API: `recon serve` (embedded worker) on a throw-away PostgreSQL
database or a SQLite file (the embedded default), the demo ledger and bank files of N rows each.

    uv run python bench/api_run_bench.py --rows 1000000                      # PostgreSQL
    uv run python bench/api_run_bench.py --rows 100000 --database sqlite --cli
    uv run python bench/api_run_bench.py --rows 100000 --demo-dir /tmp/demo100k   # reuse generated files
    uv run python bench/api_run_bench.py --rows 1000000 --keep-db --no-lists     # keep the run (state file)
    uv run python bench/api_run_bench.py --reuse bench/out/api_run_bench_postgres_kept.json  # lists only

Phases (wall seconds, measured from outside except where noted): upload of each file (the two in parallel),
ingest of each dataset (its job's started -> finished), the run (queue wait, then the task's own phases from
summary.phases_s: load, match, build, persist), and end to end: first upload byte -> run succeeded; the CPU
seconds of that span of the server with its job processes and, on PostgreSQL, of the bench database's backends
(sampled from /proc: on a shared machine the figures that survive the load). `stages_s`: what the server logs
(each ingestion's parse and store; on PostgreSQL the persist's two paths and their parts: items delete, COPY,
the wait for the amounts, their COPY, ANALYZE and commit; groups finish, COPY and ANALYZE; the run's commit).
`--cli` also times `recon match` on the same files and prints the run through the API against it (issue 12:
<= 2x on SQLite at 100k x 100k).
Then every list the review workspace uses (`--lists`: groups per status, pass, each sort and filters;
unmatched per side, state, reason and each sort; decisions), each at a shallow cursor (the first page) and a
deep one (the middle of the list, made from the database like the API makes cursors), at limit 100 and 1000:
`--requests` timed requests per list, depth and limit (default 200) going on page by page from there;
median and p99 (issue 12: p99 <= 20 ms at limit 100, <= 60 ms at limit 1000); and EXPLAIN of the deep-cursor
queries (index range scans, no sort of the run). Writes bench/out/api_run_bench_<database>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from list_latency import LIST_HEADER, measure_lists, review_lists, time_pages
from recon.config import Settings
from recon.core.migrations import upgrade_head
from recon.demo import generate

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
    def __init__(self, base: str, password: str = ADMIN_PASSWORD) -> None:
        self.client = httpx.Client(base_url=base, timeout=600)
        self.password = password
        self.login()

    def login(self) -> None:
        """A fresh access token: they expire after 15 minutes, and timing every list at 1M takes longer."""
        token = self.client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": self.password})
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


def time_cli(files: dict[str, Path], rules: Path, out: Path) -> float:
    """Wall seconds of `recon match` on the same files (a fresh process, as a user runs it)."""
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "recon.cli",
            "match",
            str(files["left"]),
            str(files["right"]),
            "--rules",
            str(rules),
            "--out",
            str(out),
            "--quiet",
        ],
        check=True,
    )
    return time.perf_counter() - started


def time_decisions(api: Api, project_id: str, run_id: str, requests: int) -> dict[str, Any]:
    """Make decisions (a bulk confirm of suggestions) and time the project's decisions list."""
    totals = api.call("GET", f"/api/v1/runs/{run_id}/groups/totals", params={"status": "suggested"})
    count = min(int(totals["groups"]), 10_000)
    if count and count == int(totals["groups"]):
        api.call(
            "POST",
            f"/api/v1/runs/{run_id}/bulk/by-filter",
            json={
                "action": "confirm",
                "groups": {"status": ["suggested"]},
                "expected_count": count,
                "reason_code": "small_difference",  # suggestions with a difference: confirmed as written off
                "comment": "run bench: suggestions confirmed in bulk",  # a write-off must say why
            },
        )
    url = f"/api/v1/projects/{project_id}/decisions"
    figures: dict[str, Any] = {"decisions_made": count}
    for limit in (100, 1000):
        figures[f"limit_{limit}"] = time_pages(api.client, url, {}, None, limit, requests)
    return figures


def start_server(url: str, work: Path, password: str) -> tuple[subprocess.Popen[bytes], str]:
    """`recon serve` with the embedded worker on `url`, ready."""
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
        "RATE_LIMIT_READ": "1000000/minute",
        "RATE_LIMIT_WRITE": "1000000/minute",
        "RECON_ADMIN_EMAIL": ADMIN_EMAIL,
        "RECON_ADMIN_PASSWORD": password,
        "LOG_LEVEL": "INFO",
        "AUTO_MIGRATE": "false",
    }
    log = (OUT / "api_run_bench_server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "recon.cli", "serve"], env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise SystemExit("recon serve did not become ready (see bench/out/api_run_bench_server.log)")
        time.sleep(0.1)


def run_through_api(
    api: Api, base: str, files: dict[str, Path], rules: Path, report: dict[str, Any]
) -> dict[str, Any]:
    """Upload both files, ingest them, run the rules; the phases into `report`. Returns the run."""
    project_id = api.call("POST", "/api/v1/projects", json={"name": "run bench"})["id"]
    ruleset_id = api.call(
        "POST", f"/api/v1/projects/{project_id}/rulesets", json={"name": "demo", "text": rules.read_text()}
    )["id"]
    t0 = time.perf_counter()
    headers = dict(api.client.headers)
    with ThreadPoolExecutor(2) as pool:
        futures = {side: pool.submit(upload, base, headers, project_id, path) for side, path in files.items()}
        uploaded = {side: future.result() for side, future in futures.items()}
    datasets = {}
    for side, (dataset_id, seconds) in uploaded.items():
        report[f"upload_{side}_s"] = round(seconds, 2)
        datasets[side] = api.wait(f"/api/v1/projects/{project_id}/datasets/{dataset_id}", ("ready", "failed"))
        if datasets[side]["status"] != "ready":
            raise SystemExit(f"ingestion of {side} failed: {datasets[side]['error']}")
    for side, dataset in datasets.items():
        job = api.call("GET", f"/api/v1/jobs/{dataset['job_id']}")
        report[f"ingest_{side}_s"] = round(stamp(job["finished_at"]) - stamp(job["started_at"]), 2)
    report["uploads_and_ingests_s"] = round(time.perf_counter() - t0, 2)
    report["dataset_ids"] = {side: str(dataset["id"]) for side, dataset in datasets.items()}

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
    report["run_through_api_s"] = round(stamp(run["finished_at"]) - stamp(run["created_at"]), 2)
    report["results"] = {
        "groups": sum(p["groups"] for p in summary["passes"]),
        "items": summary["left"]["rows"] + summary["right"]["rows"],
        "unmatched_left": summary["left"]["unmatched"] + summary["left"]["rejected"],
        "matched_left": summary["left"]["matched"],
    }
    return run


LOGGED_STAGES = {"dataset_ingested", "run_results_written", "run_succeeded"}
LOG_FIELDS = {"event", "run_id", "pid", "job_kind", "job_id", "level", "logger", "timestamp", "request_id"}
LOG_FIELDS |= {"trace_id"}


def logged_stages(run_id: str, dataset_ids: dict[str, str], wait_s: float = 10.0) -> dict[str, Any]:
    """The stages the server logs (wall seconds): each ingestion's parse and store (COPY of the records and
    the records' Arrow file), the persist's two paths and their parts (`run_results_written`, PostgreSQL),
    and the task's final commit (`run_succeeded`)."""
    sides = {dataset_id: side for side, dataset_id in dataset_ids.items()}
    deadline = time.monotonic() + wait_s
    while True:
        found: dict[str, Any] = {}
        with (OUT / "api_run_bench_server.log").open("rb") as log:
            for line in log:
                if not line.startswith(b"{"):
                    continue
                with suppress(ValueError):
                    event = json.loads(line)
                    if event.get("event") not in LOGGED_STAGES:
                        continue
                    if event["event"] == "dataset_ingested" and event.get("dataset_id") in sides:
                        side = sides[event["dataset_id"]]
                        found[f"ingest_{side}_parse_s"] = event["parse_s"]
                        found[f"ingest_{side}_store_s"] = event["store_s"]
                    elif event.get("run_id") == run_id:
                        found |= {k: v for k, v in event.items() if k not in LOG_FIELDS}
        if "commit_s" in found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (the job processes of `recon serve` run under its fork server)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


class CpuSampler:
    """CPU seconds (user + system, /proc) spent while running by the processes `pids()` names, sampled every
    `every_s`: each process's last reading counts, less its first one when it was there at the start; a
    process living less than `every_s` is missed (the ingest and run work lives for seconds)."""

    def __init__(self, pids: Callable[[], Iterable[int]], every_s: float = 0.2) -> None:
        self.pids = pids
        self.every_s = every_s
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _read(self, initial: bool) -> None:
        for pid in self.pids():
            with suppress(FileNotFoundError, ProcessLookupError):
                self.last[pid] = process_cpu_s(pid)
                if initial:
                    self.first[pid] = self.last[pid]

    def _run(self) -> None:
        while not self.stop.wait(self.every_s):
            self._read(initial=False)

    def __enter__(self) -> CpuSampler:
        self._read(initial=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self._read(initial=False)

    @property
    def total_s(self) -> float:
        return round(sum(cpu - self.first.get(pid, 0.0) for pid, cpu in self.last.items()), 2)


def backend_pids(url: str) -> Callable[[], list[int]]:
    """The pids of the PostgreSQL backends of the database at `url` (same machine), one query each call."""
    conn = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT").connect()  # one backend
    query = text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )

    def pids() -> list[int]:
        return list(conn.execute(query).scalars())

    return pids


def time_lists(
    api: Api, url: str, run: dict[str, Any], requests: int, only: str, report: dict[str, Any], server_pid: int
) -> None:
    first_pass = run["summary"]["passes"][0]["name"]
    cases = review_lists(first_pass, Decimal("1000"))
    prefixes = tuple(p.strip() for p in only.split(",") if p.strip())
    if prefixes:
        cases = [case for case in cases if case.name.startswith(prefixes)]
    print(f"lists of the run ({requests} requests per list, depth and limit)\n{LIST_HEADER}")

    def server_cpu_s() -> float:
        return process_cpu_s(server_pid)

    measure_lists(
        api.client, url, run["id"], cases, requests, before_case=api.login, server_cpu_s=server_cpu_s
    )
    report["lists"] = {case.name: case.figures for case in cases}
    if not prefixes or "decisions".startswith(prefixes):
        api.login()  # the token of the lists' start may have expired (15 minutes) by now
        report["decisions"] = time_decisions(api, run["project_id"], run["id"], requests)
        print(json.dumps({"decisions": report["decisions"]}, indent=2))
    met = [f["p99_target_met"] for c in cases for k, f in c.figures.items() if k not in ("rows", "plan_deep")]
    report["lists_p99_targets_met"] = f"{sum(met)}/{len(met)}"
    print(f"list p99 targets met: {report['lists_p99_targets_met']}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--demo-dir", type=Path, default=None, help="reuse (or create) the demo files here")
    parser.add_argument(
        "--keep-db",
        action="store_true",
        help="keep the database (SQLite: its directory); state in bench/out/api_run_bench_<db>_kept.json",
    )
    parser.add_argument(
        "--reuse",
        type=Path,
        default=None,
        help="a kept run's state file: migrate its database to head, serve it and time the lists only",
    )
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--cli", action="store_true", help="also time `recon match` on the same files")
    parser.add_argument("--lists", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--requests", type=int, default=TIMED_REQUESTS, help="per list, depth and limit")
    parser.add_argument(
        "--only", default="", help="comma-separated name prefixes of the lists to time (default: all)"
    )
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    kept: dict[str, Any] = json.loads(args.reuse.read_text()) if args.reuse else {}
    database = kept.get("database", args.database)
    password = kept.get("password", ADMIN_PASSWORD)
    if kept:
        work, url, name = Path(kept["work"]), kept["url"], ""  # a reused database is never dropped here
    else:
        work = Path(tempfile.mkdtemp(prefix="recon-run-bench-"))
        if database == "postgres":
            url, name = create_database()
        else:
            url, name = f"sqlite:///{work / 'recon.db'}", ""
    settings = Settings(_env_file=None, database_url=url, data_dir=work / "data", environment="test")
    migrate_started = time.perf_counter()
    upgrade_head(settings)  # as the migration job does in production (a kept database: new indexes)
    migrate_s = round(time.perf_counter() - migrate_started, 2)
    report: dict[str, Any] = {
        "database": database,
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
        "rows": kept.get("rows", args.rows),
        "reused": str(args.reuse) if args.reuse else None,
        "migrate_s": migrate_s,
    }
    server, base = start_server(url, work, password)
    try:
        api = Api(base, password)
        if kept:
            run = api.call("GET", f"/api/v1/runs/{kept['run_id']}")
        else:
            demo_dir = args.demo_dir or work / "demo"
            if not (demo_dir / "ledger.csv").exists():
                started = time.perf_counter()
                generate(args.rows, demo_dir)
                print(f"generated the demo files ({args.rows} rows) in {time.perf_counter() - started:.1f} s")
            files = {"left": demo_dir / "ledger.csv", "right": demo_dir / "bank.csv"}
            report["files_mb"] = {k: round(p.stat().st_size / 1e6, 1) for k, p in files.items()}
            # CPU of upload -> run succeeded: the server with its job processes, and the database's backends
            backends = CpuSampler(backend_pids(url) if database == "postgres" else list)
            with CpuSampler(lambda: descendants(server.pid)) as server_cpu, backends:
                run = run_through_api(api, base, files, demo_dir / "rules.yaml", report)
            report["stages_s"] = logged_stages(run["id"], report["dataset_ids"])
            report["server_cpu_s"] = server_cpu.total_s
            if database == "postgres":
                report["postgres_backends_cpu_s"] = backends.total_s
            if args.keep_db:
                state = {"database": database, "url": url, "work": str(work), "password": password}
                state |= {"run_id": run["id"], "rows": args.rows}
                (OUT / f"api_run_bench_{database}_kept.json").write_text(json.dumps(state, indent=2) + "\n")
            if args.cli:
                report["cli_match_s"] = round(time_cli(files, demo_dir / "rules.yaml", work / "cli-out"), 2)
                report["run_vs_cli"] = round(report["run_through_api_s"] / report["cli_match_s"], 2)
        print(json.dumps(report, indent=2))
        if args.lists:
            time_lists(api, url, run, args.requests, args.only, report, server.pid)
        report["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
        if name and not args.keep_db:
            drop_database(name)
        suffix = "_reused" if kept else ""
        out = OUT / f"api_run_bench_{database}{suffix}.json"
        out.write_text(json.dumps(report, indent=2, default=str) + "\n")
        if not args.keep_db and not kept:  # the SQLite database, the uploads and (unless --demo-dir) the demo
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
