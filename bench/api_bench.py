"""API benchmark: `recon serve` in a subprocess on loopback, measured from outside.

    uv run python bench/api_bench.py                      # PostgreSQL throw-away database if reachable
    uv run python bench/api_bench.py --database sqlite --duration 10 --concurrency 8

Figures: time from spawn to the first `/ready` 200 (the database is migrated beforehand, as the migration
job does in production), RSS of the idle process, then a load generator (threads with keep-alive httpx
clients, bounded by --duration) against GET /api/v1/projects/{id}/datasets with a real bearer token:
requests/s, p50/p90/p99 latency, errors (any non-200 or transport error), RSS under load (peak), and the
graceful stop (SIGTERM to exit). Targets: ready <= 3 s, idle RSS <= 150 MB, no errors under load.
The load generator shares the machine with the server, so requests/s is a lower bound of what it serves.
Also GET /health and the authenticated GET /api/v1/auth/me one at a time (median, p99; issue 12: /auth/me
median <= 5 ms). Writes bench/out/api_bench.json; the server's log goes to
bench/out/logs/api_bench_server.log.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import IO, Any, ClassVar

import httpx
import psutil
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from recon.config import Settings
from recon.core.migrations import upgrade_head

PG_ADMIN_URL = os.environ.get("RECON_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("RECON_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
OUT = Path(__file__).resolve().parent / "out"
ADMIN_EMAIL = "bench@example.com"
ADMIN_PASSWORD = "bench-password-" + uuid.uuid4().hex[:12]
TARGET_READY_S = 3.0
TARGET_IDLE_RSS_MB = 150.0
TARGET_AUTH_ME_MS = 5.0
DATASETS = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_database() -> tuple[str, str] | None:
    admin = create_engine(
        PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 3}
    )
    try:
        with admin.connect() as conn:
            name = f"recon_api_bench_{uuid.uuid4().hex[:8]}"
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"PostgreSQL not reachable ({str(exc).splitlines()[0]}); using SQLite")
        return None
    finally:
        admin.dispose()
    return admin.url.set(database=name).render_as_string(hide_password=False), name


def drop_postgres(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def redis_reachable() -> bool:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def wait_ready(base: str, process: subprocess.Popen[bytes], started: float, timeout_s: float = 120) -> float:
    with httpx.Client(timeout=2) as client:
        while time.perf_counter() - started < timeout_s:
            if process.poll() is not None:
                raise SystemExit(f"recon serve exited with {process.returncode} before it was ready")
            try:
                if client.get(f"{base}/ready").status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.01)
    raise SystemExit(f"recon serve not ready after {timeout_s} s")


def rss_mb(process: psutil.Process) -> float:
    return float(process.memory_info().rss) / 2**20


def seed(base: str) -> tuple[str, dict[str, str]]:
    """Log in as the bootstrapped admin, create a project and upload DATASETS small files (ingested by the
    embedded worker) through the API; wait until they are all ready."""
    with httpx.Client(base_url=base, timeout=30) as client:
        login = client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        project = client.post("/api/v1/projects", headers=headers, json={"name": "API bench"})
        project.raise_for_status()
        project_id = project.json()["id"]
        for number in range(DATASETS):
            rows = "".join(
                f"B{number}-{i},2024-03-{1 + i % 28:02d},{i}.{number:02d},REF-{i}\n" for i in range(200)
            )
            upload = client.post(
                f"/api/v1/projects/{project_id}/datasets",
                headers=headers,
                files={"file": (f"bench-{number}.csv", "id,date,amount,reference\n" + rows, "text/csv")},
            )
            upload.raise_for_status()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            items = client.get(f"/api/v1/projects/{project_id}/datasets", headers=headers).json()["items"]
            if len(items) == DATASETS and all(item["status"] == "ready" for item in items):
                return project_id, headers
            time.sleep(0.2)
    raise SystemExit("the bench datasets were not ingested within 120 s")


class Load:
    def __init__(self, url: str, headers: dict[str, str], concurrency: int, duration_s: float) -> None:
        self.url, self.headers = url, headers
        self.concurrency, self.duration_s = concurrency, duration_s
        self.latencies: list[list[float]] = [[] for _ in range(concurrency)]
        self.errors: list[dict[str, int]] = [{} for _ in range(concurrency)]
        self.elapsed_s = 0.0

    def _worker(self, index: int, stop_at: float) -> None:
        latencies, errors = self.latencies[index], self.errors[index]
        with httpx.Client(headers=self.headers, timeout=30) as client:
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                try:
                    response = client.get(self.url)
                    outcome = str(response.status_code) if response.status_code != 200 else None
                except httpx.TransportError as exc:
                    outcome = type(exc).__name__
                latencies.append(time.perf_counter() - started)
                if outcome is not None:
                    errors[outcome] = errors.get(outcome, 0) + 1

    def run(self) -> None:
        started = time.perf_counter()
        stop_at = started + self.duration_s
        threads = [threading.Thread(target=self._worker, args=(i, stop_at)) for i in range(self.concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.elapsed_s = time.perf_counter() - started

    def summary(self) -> dict[str, Any]:
        latencies = sorted(x for worker in self.latencies for x in worker)
        errors: dict[str, int] = {}
        for worker in self.errors:
            for key, count in worker.items():
                errors[key] = errors.get(key, 0) + count

        def pct(q: float) -> float:
            return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2)

        return {
            "requests": len(latencies),
            "duration_s": round(self.elapsed_s, 2),
            "requests_per_s": round(len(latencies) / self.elapsed_s, 1),
            "latency_ms": {
                "mean": round(statistics.fmean(latencies) * 1000, 2),
                "p50": pct(0.50),
                "p90": pct(0.90),
                "p99": pct(0.99),
                "max": round(latencies[-1] * 1000, 2),
            },
            "errors": sum(errors.values()),
            "errors_by_kind": errors,
        }


class Server:
    """One `recon serve` process: spawn, time to the first /ready 200 (and the CPU it took), stop."""

    running: ClassVar[list[subprocess.Popen[bytes]]] = []

    def __init__(self, process: subprocess.Popen[bytes], ready_s: float) -> None:
        self.process, self.ready_s = process, ready_s
        self.ps = psutil.Process(process.pid)
        times = self.ps.cpu_times()
        self.ready_cpu_s = times.user + times.system

    @classmethod
    def start(cls, command: list[str], env: dict[str, str], cwd: Path, log: IO[bytes], base: str) -> Server:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        cls.running.append(process)
        return cls(process, wait_ready(base, process, started))

    def rss(self) -> float:
        return rss_mb(self.ps)

    def stop(self) -> tuple[int, float]:
        """SIGTERM; the exit code and the seconds it took to exit."""
        started = time.perf_counter()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(60)
        return code, time.perf_counter() - started

    @classmethod
    def kill_all(cls) -> None:
        for process in cls.running:
            if process.poll() is None:
                process.kill()
                process.wait(10)


def sequential_latency(base: str, headers: dict[str, str], requests: int = 300) -> dict[str, Any]:
    """One keep-alive client, one request at a time: GET /health and the authenticated GET /api/v1/auth/me
    (token decode, session and user, memberships, serialisation). Issue 12: /auth/me median <= 5 ms."""
    figures: dict[str, Any] = {}
    with httpx.Client(base_url=base, timeout=30) as client:
        for name, path, sent in (("health", "/health", {}), ("auth_me", "/api/v1/auth/me", headers)):
            for _ in range(30):  # warm-up
                client.get(path, headers=sent).raise_for_status()
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                client.get(path, headers=sent).raise_for_status()
                times.append(time.perf_counter() - started)
            times.sort()
            figures[name] = {
                "n": requests,
                "median_ms": round(statistics.median(times) * 1000, 2),
                "p99_ms": round(times[min(len(times) - 1, int(0.99 * len(times)))] * 1000, 2),
            }
    return figures


def sample_peak_rss(process: psutil.Process, stop: threading.Event, peak: list[float]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss_mb(process))
        stop.wait(0.25)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["auto", "postgres", "sqlite"], default="auto")
    parser.add_argument("--redis", choices=["auto", "off"], default="auto", help="use Redis when reachable")
    parser.add_argument("--duration", type=float, default=20.0, help="load duration in seconds (default 20)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients (default 16)")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "logs").mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="recon-api-bench-"))
    pg = postgres_database() if args.database in {"auto", "postgres"} else None
    if pg is None and args.database == "postgres":
        raise SystemExit("PostgreSQL requested but not reachable")
    database_url = pg[0] if pg else f"sqlite:///{workdir / 'recon.db'}"
    use_redis = args.redis == "auto" and redis_reachable()
    port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "DATABASE_URL": database_url,
        "DATA_DIR": str(workdir / "var"),
        "AUTO_MIGRATE": "false",  # migrated below, before the clock starts
        "JWT_SECRET": uuid.uuid4().hex + uuid.uuid4().hex,
        "RECON_ADMIN_EMAIL": ADMIN_EMAIL,
        "RECON_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "METRICS_PORT": str(metrics_port),
        "LOG_LEVEL": "INFO",
        "RATE_LIMIT_READ": "1000000/minute",  # one token hammering one route is the load, not an abuser
        "RATE_LIMIT_WRITE": "1000000/minute",
    }
    for inherited in ("REDIS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT", "HOST", "PORT"):
        env.pop(inherited, None)
    if use_redis:
        env["REDIS_URL"] = REDIS_URL
        env["REDIS_KEY_PREFIX"] = f"recon-bench-{uuid.uuid4().hex[:8]}:"
    upgrade_head(Settings(_env_file=None, database_url=database_url, data_dir=workdir / "var"))

    base = f"http://127.0.0.1:{port}"
    log_path = OUT / "logs" / "api_bench_server.log"
    command = [sys.executable, "-m", "recon.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as server_log:
        try:
            first = Server.start(command, env, workdir, server_log, base)
            rss_at_ready = first.rss()
            project_id, headers = seed(base)
            time.sleep(2.0)
            idle_rss = first.rss()
            url = f"{base}/api/v1/projects/{project_id}/datasets"
            check = httpx.get(url, headers=headers, timeout=10)
            check.raise_for_status()
            assert len(check.json()["items"]) == DATASETS
            sequential = sequential_latency(base, headers)
            Load(url, headers, 4, 2.0).run()  # warm-up (connections, caches); not counted
            stop, peak = threading.Event(), [0.0]
            sampler = threading.Thread(target=sample_peak_rss, args=(first.ps, stop, peak))
            sampler.start()
            load = Load(url, headers, args.concurrency, args.duration)
            load.run()
            stop.set()
            sampler.join()
            rss_after = first.rss()
            metrics_ok = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).status_code == 200
            exit_code, stop_s = first.stop()
            # A restart (admin, data and schema exist): what a new replica or a rolling update sees.
            again = Server.start(command, env, workdir, server_log, base)
            restart_rss = again.rss()
            again.stop()
        finally:
            Server.kill_all()
            if pg:
                drop_postgres(pg[1])
            shutil.rmtree(workdir, ignore_errors=True)

    figures = load.summary()
    result = {
        "database": "postgresql" if pg else "sqlite",
        "redis": use_redis,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "ready_s": round(first.ready_s, 3),
        "ready_cpu_s": round(first.ready_cpu_s, 2),
        "restart_ready_s": round(again.ready_s, 3),
        "restart_ready_cpu_s": round(again.ready_cpu_s, 2),
        "rss_mb": {
            "at_ready": round(rss_at_ready, 1),
            "restart_at_ready": round(restart_rss, 1),
            "idle": round(idle_rss, 1),
            "peak_under_load": round(peak[0], 1),
            "after_load": round(rss_after, 1),
        },
        "load": {
            "endpoint": "GET /api/v1/projects/{id}/datasets",
            "concurrency": args.concurrency,
            "datasets_per_page": DATASETS,
            **figures,
        },
        "sequential": sequential,
        "metrics_endpoint_ok": metrics_ok,
        "sigterm_exit_code": exit_code,
        "sigterm_to_exit_s": round(stop_s, 2),
        "targets": {
            "ready_s<=3": first.ready_s <= TARGET_READY_S,
            "idle_rss_mb<=150": idle_rss <= TARGET_IDLE_RSS_MB,
            "no_errors": figures["errors"] == 0,
            "auth_me_median_ms<=5": sequential["auth_me"]["median_ms"] <= TARGET_AUTH_ME_MS,
        },
    }
    (OUT / "api_bench.json").write_text(json.dumps(result, indent=2) + "\n")
    report(result)


def report(result: dict[str, Any]) -> None:
    load, rss, targets = result["load"], result["rss_mb"], result["targets"]

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    print(
        f"\nrecon serve on {result['database']}{' + redis' if result['redis'] else ''}, "
        f"{result['cpus']} CPUs, load average {result['load_average_1m_at_end']}"
    )
    print(
        f"  spawn -> /ready 200      {result['ready_s']:8.2f} s    target <= {TARGET_READY_S:.0f} s   "
        f"{mark(targets['ready_s<=3'])}"
    )
    cpu = f"first {result['ready_cpu_s']} s, restart {result['restart_ready_cpu_s']} s"
    print(f"  restart -> /ready 200    {result['restart_ready_s']:8.2f} s    (CPU until ready: {cpu})")
    print(
        f"  RSS idle                 {rss['idle']:8.1f} MB   target <= {TARGET_IDLE_RSS_MB:.0f} MB "
        f"{mark(targets['idle_rss_mb<=150'])}   "
        f"(at ready {rss['at_ready']} MB, restart {rss['restart_at_ready']} MB)"
    )
    for name, label in (("health", "GET /health"), ("auth_me", "GET /api/v1/auth/me")):
        seq = result["sequential"][name]
        target = (
            f"   target median <= {TARGET_AUTH_ME_MS:.0f} ms  {mark(targets['auth_me_median_ms<=5'])}"
            if name == "auth_me"
            else ""
        )
        print(f"  {label:24s} median {seq['median_ms']} ms, p99 {seq['p99_ms']} ms (n={seq['n']}){target}")
    clients = f"{load['concurrency']} clients x {load['duration_s']} s"
    print(f"  load                     {clients} on {load['endpoint']}")
    print(f"  requests/s               {load['requests_per_s']:8.1f}      ({load['requests']} requests)")
    lat = load["latency_ms"]
    print(f"  latency p50 / p90 / p99  {lat['p50']} / {lat['p90']} / {lat['p99']} ms   (max {lat['max']} ms)")
    print(
        f"  errors                   {load['errors']:8d}      target 0          {mark(targets['no_errors'])}"
        f"   {load['errors_by_kind'] or ''}"
    )
    print(f"  RSS under load (peak)    {rss['peak_under_load']:8.1f} MB   (after {rss['after_load']} MB)")
    stop_s, code = result["sigterm_to_exit_s"], result["sigterm_exit_code"]
    print(f"  SIGTERM -> exit          {stop_s:8.2f} s    exit code {code}")
    print(f"  written                  {OUT / 'api_bench.json'}")


if __name__ == "__main__":
    main()
