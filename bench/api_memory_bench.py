"""Memory and time of an oversized unauthenticated body (issue 10, row 5): a 200 MB JSON body to
/auth/login, through a real uvicorn server in this process, with the request guard's default limit
(REQUEST_MAX_BODY_BYTES = 1 MiB) and, as the baseline in the same process, with the limit raised to 1 GiB
(the body is then received, buffered and parsed, as every body was before the guard).

    uv run python bench/api_memory_bench.py                # 200 MB
    uv run python bench/api_memory_bench.py --mb 50

Figures per variant: status, seconds until the answer, RSS growth of the process (peak sampled every 10 ms
while the request runs, and after it). The variants run in order guard -> baseline, so the guard's figure is
not flattered by memory the baseline already took. SQLite in a temporary directory; nothing else runs.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import uvicorn

from recon.app import create_app
from recon.config import Settings
from recon.core.migrations import upgrade_head
from recon.observability.serving import uvicorn_config

MIB = 1024 * 1024


def _body(total_mb: int) -> Iterator[bytes]:
    """{"email": "aaaa...", "password": "x"}: streamed in 1 MiB chunks, so the client holds little."""
    yield b'{"email": "'
    for _ in range(total_mb):
        yield b"a" * MIB
    yield b'", "password": "x"}'


def _measure(settings: Settings, total_mb: int) -> dict[str, float]:
    process = psutil.Process()
    server = uvicorn.Server(uvicorn_config(settings, "127.0.0.1", 0, factory=lambda: create_app(settings)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    gc.collect()
    before = process.memory_info().rss
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        response = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/login",
            content=_body(total_mb),
            headers={"Content-Type": "application/json"},
            timeout=600,
        )
        status = response.status_code
    except httpx.HTTPError:  # the server may answer 413 and close before the client finished sending
        status = 413
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    gc.collect()
    after = process.memory_info().rss
    server.should_exit = True
    thread.join(30)
    return {
        "status": status,
        "seconds": seconds,
        "peak_mb": (peak - before) / MIB,
        "after_mb": (after - before) / MIB,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=int, default=200, help="body size in MiB (default 200)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base: dict[str, Any] = {
            "_env_file": None,
            "environment": "test",
            "database_url": f"sqlite:///{Path(tmp) / 'recon.db'}",
            "data_dir": Path(tmp) / "data",
            "embedded_worker": False,
            "rate_limit_enabled": False,
            "metrics_port": 0,
            "log_level": "WARNING",
        }
        upgrade_head(Settings(**base))
        guard = _measure(Settings(**base), args.mb)
        baseline = _measure(Settings(**base, request_max_body_bytes=1024 * MIB), args.mb)
    print(
        f"{args.mb} MiB JSON body to /auth/login (load: {' '.join(f'{x:.2f}' for x in psutil.getloadavg())})"
    )
    print(f"{'variant':<34} {'status':>6} {'seconds':>8} {'peak RSS +MiB':>14} {'RSS after +MiB':>15}")
    for name, figures in (("guard (1 MiB limit)", guard), ("baseline (limit raised to 1 GiB)", baseline)):
        print(
            f"{name:<34} {figures['status']:>6} {figures['seconds']:>8.2f} {figures['peak_mb']:>14.1f} "
            f"{figures['after_mb']:>15.1f}"
        )
    print(
        f"ratios baseline/guard: time {baseline['seconds'] / max(guard['seconds'], 1e-3):.0f}x, "
        f"peak RSS growth {baseline['peak_mb'] / max(guard['peak_mb'], 0.1):.0f}x"
    )


if __name__ == "__main__":
    main()
