"""Real `recon worker` processes for crash tests (SIGKILL / SIGTERM), shared by the jobs, datasets and runs
suites: each names the module of test tasks or hooks the worker imports and the folder it lives in."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from recon.config import Settings

SpawnWorker = Callable[..., subprocess.Popen[bytes]]


@contextmanager
def worker_processes(
    settings: Settings, tmp_path: Path, *, imports: str, imports_dir: Path, **extra_env: str
) -> Iterator[SpawnWorker]:
    """Yields spawn(stall_marker=None) -> a worker process on the test's database with short leases; every
    process still running at the end is killed."""
    procs: list[subprocess.Popen[bytes]] = []

    def spawn(stall_marker: Path | None = None) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "ENVIRONMENT": "test",
            "DATABASE_URL": settings.database_url,
            "DATA_DIR": str(settings.data_dir),
            "JOB_LEASE_S": "2",
            "JOB_POLL_INTERVAL_S": "0.1",
            "PYTHONPATH": os.pathsep.join([str(imports_dir), os.environ.get("PYTHONPATH", "")]),
            **extra_env,
        }
        env.pop("RECON_TEST_STALL_MARKER", None)
        if stall_marker is not None:
            env["RECON_TEST_STALL_MARKER"] = str(stall_marker)
        log = (tmp_path / f"worker-{len(procs)}.log").open("wb")
        command = [sys.executable, "-m", "recon.cli", "worker", "--concurrency", "1", "--import", imports]
        # cwd: no stray .env from the repository
        proc = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    try:
        yield spawn
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)


def wait_for(
    predicate: Callable[[], bool],
    what: str,
    proc: subprocess.Popen[bytes] | None = None,
    timeout: float = 60,
) -> None:
    """Polls `predicate`; fails naming `what` on timeout or when the watched worker exits."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"worker exited with {proc.returncode} while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
