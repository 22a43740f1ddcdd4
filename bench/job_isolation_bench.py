"""The cost of running each job in its own process: enqueue -> succeeded of a no-op job, thread vs process.

    uv run python bench/job_isolation_bench.py            # SQLite in a temporary directory, 20 jobs each

Both modes run in this process with one worker thread (the baseline is thread isolation, measured in the
same run). Process isolation is measured twice for its first job: "cold" (the job itself starts the
forkserver, as before the worker pre-started it) and "warm" (the forkserver started in the background the way
`WorkerRunner.start()` does, then the first job). Prints the machine load; writes
bench/out/job_isolation.json.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from multiprocessing import forkserver
from pathlib import Path

import noop_task  # noqa: F401 - registers bench.noop (bench/ is this script's folder, on sys.path)
from api_bench import free_port, wait_ready
from recon.config import Settings
from recon.core.db import create_db_engine, create_session_factory, session_scope
from recon.core.migrations import upgrade_head
from recon.jobs.queue import enqueue
from recon.models.jobs import Job
from recon.worker.child import start_forkserver
from recon.worker.runner import WorkerRunner

JOBS = int(os.environ.get("BENCH_JOBS", "20"))


def _latencies(runner: WorkerRunner, factory: object, count: int) -> list[float]:
    times = []
    for _ in range(count):
        with session_scope(factory) as session:  # type: ignore[arg-type]
            job_id = enqueue(session, "bench.noop").id
        started = time.perf_counter()
        runner.run_until_idle()
        times.append(time.perf_counter() - started)
        with session_scope(factory) as session:  # type: ignore[arg-type]
            job = session.get(Job, job_id)
            assert job is not None and job.status == "succeeded", (job and job.status, job and job.error)
    return times


def serve_ready(folder: str, isolation: str) -> dict[str, float]:
    """`recon serve` (embedded worker, process isolation, SQLite migrated beforehand): spawn -> first /ready
    200, and spawn -> the log line of the forkserver started in the background."""
    folder = tempfile.mkdtemp(dir=folder)
    database_url = f"sqlite:///{folder}/serve.db"
    upgrade_head(Settings(_env_file=None, database_url=database_url, data_dir=Path(folder) / "var"))
    port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "DATABASE_URL": database_url,
        "DATA_DIR": f"{folder}/var",
        "AUTO_MIGRATE": "false",
        "JWT_SECRET": uuid.uuid4().hex + uuid.uuid4().hex,
        "METRICS_PORT": str(free_port()),
        "EMBEDDED_WORKER": "true",
        "JOB_ISOLATION": isolation,
        "LOG_LEVEL": "INFO",
    }
    for inherited in ("REDIS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT", "HOST", "PORT"):
        env.pop(inherited, None)
    log_path = Path(folder) / "serve.log"
    command = [sys.executable, "-m", "recon.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
        try:
            ready_s = wait_ready(f"http://127.0.0.1:{port}", process, started)
            forkserver_s = float("nan")
            while isolation == "process" and time.perf_counter() - started < 60:
                if "job_forkserver_started" in log_path.read_text(errors="replace"):
                    forkserver_s = time.perf_counter() - started
                    break
                time.sleep(0.02)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
    return {"ready_s": ready_s, "forkserver_started_s": forkserver_s}


def main() -> None:
    load = os.getloadavg()
    print(f"machine load (1/5/15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            _env_file=None, database_url=f"sqlite:///{folder}/bench.db", data_dir=Path(folder)
        )
        upgrade_head(settings)
        engine = create_db_engine(settings)
        factory = create_session_factory(engine)
        figures: dict[str, dict[str, float]] = {}
        for isolation in ("thread", "process"):
            runner = WorkerRunner(factory, settings=settings, isolation=isolation, kinds=["bench.noop"])
            first = _latencies(runner, factory, 1)[0]
            times = _latencies(runner, factory, JOBS)
            figures[isolation] = {"first_s": first, "median_s": statistics.median(times), "max_s": max(times)}
        forkserver._forkserver._stop()  # type: ignore[attr-defined]  # the "warm" case starts a new one
        started = time.perf_counter()
        start_forkserver()  # what the worker runs in a background thread when it starts
        figures["process"]["forkserver_start_s"] = time.perf_counter() - started
        figures["process"]["warm_first_s"] = _latencies(runner, factory, 1)[0]
        engine.dispose()
        serve = {isolation: serve_ready(folder, isolation) for isolation in ("thread", "process")}
    thread, process = figures["thread"], figures["process"]
    base = thread["median_s"]
    for isolation, f in figures.items():
        print(
            f"{isolation:>7}: first job {f['first_s'] * 1000:7.1f} ms, "
            f"then median {f['median_s'] * 1000:7.1f} ms (max {f['max_s'] * 1000:7.1f} ms), "
            f"{f['median_s'] / base:5.1f}x the thread median"
        )
    print(
        f"process: forkserver started at worker start in {process['forkserver_start_s'] * 1000:.1f} ms "
        f"(background); first job after it {process['warm_first_s'] * 1000:.1f} ms = "
        f"{process['warm_first_s'] / thread['first_s']:.1f}x the thread first job, "
        f"{process['warm_first_s'] / process['first_s']:.2f}x the cold first job"
    )
    print(
        f"recon serve: /ready after {serve['process']['ready_s']:.2f} s with process isolation "
        "(target <= 5 s), "
        f"{serve['process']['ready_s'] / serve['thread']['ready_s']:.2f}x thread isolation's "
        f"{serve['thread']['ready_s']:.2f} s; forkserver ready in the background after "
        f"{serve['process']['forkserver_started_s']:.2f} s"
    )
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    report = {"load": load, "figures": figures, "serve": serve}
    (out / "job_isolation.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
