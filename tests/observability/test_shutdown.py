"""Graceful shutdown of `recon serve`: SIGTERM lets an in-flight request finish, then the process stops its
parts (worker, metrics server, engine) and exits 0."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from recon.auth.security import create_access_token
from recon.config import Settings

JWT_SECRET = "shutdown-test-secret-0123456789abcdef"
ADMIN_EMAIL = "admin@shutdown.test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(base: str, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"recon serve exited early with {process.returncode}")
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("recon serve did not become ready")


@pytest.fixture
def drain_s() -> str:
    return "0"


@pytest.fixture
def server(tmp_path: Path, drain_s: str) -> Iterator[tuple[subprocess.Popen[bytes], str, int, Path]]:
    port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "DATA_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'recon.db'}",
        "JWT_SECRET": JWT_SECRET,
        "RECON_ADMIN_EMAIL": ADMIN_EMAIL,
        "RECON_ADMIN_PASSWORD": "a-long-enough-admin-password",
        "METRICS_PORT": str(metrics_port),
        "SHUTDOWN_TIMEOUT_S": "30",
        "SHUTDOWN_DRAIN_S": drain_s,
    }
    for inherited in ("REDIS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT", "HOST", "PORT"):
        env.pop(inherited, None)
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "recon.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}", process)
            yield process, f"http://127.0.0.1:{port}", metrics_port, log_path
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)


def admin_token(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        (user_id,) = conn.execute("SELECT id FROM users WHERE email = ?", (ADMIN_EMAIL,)).fetchone()
    return create_access_token(Settings(_env_file=None, jwt_secret=JWT_SECRET), user_id)


def test_sigterm_drains_the_in_flight_request_and_exits_zero(
    server: tuple[subprocess.Popen[bytes], str, int, Path], tmp_path: Path
) -> None:
    process, base, metrics_port, log_path = server
    assert httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).status_code == 200
    headers = {
        "Authorization": f"Bearer {admin_token(tmp_path / 'recon.db')}",
        "Content-Type": "application/json",
    }
    headers_sent, terminated = threading.Event(), threading.Event()

    def slow_body() -> Iterator[bytes]:
        yield b'{"name": "drained'
        headers_sent.set()
        terminated.wait(10)
        time.sleep(1.0)  # the server is shutting down while the rest of the request is still on its way
        yield b' project"}'

    result: dict[str, httpx.Response] = {}

    def send() -> None:
        result["response"] = httpx.post(
            f"{base}/api/v1/projects", content=slow_body(), headers=headers, timeout=30
        )

    sender = threading.Thread(target=send)
    sender.start()
    assert headers_sent.wait(10)
    time.sleep(0.5)  # let the server parse the request line and headers
    process.send_signal(signal.SIGTERM)
    terminated.set()
    sender.join(30)

    response = result["response"]
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "drained project"
    assert process.wait(30) == 0
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2)
    events = [
        json.loads(line).get("event") for line in log_path.read_text().splitlines() if line.startswith("{")
    ]
    assert "shutdown_requested" in events
    for event in ("worker_stopped", "observability_stopped", "app_stopped"):
        assert event in events
    assert events.index("shutdown_requested") < events.index("worker_stopped") < events.index("app_stopped")


@pytest.mark.parametrize("drain_s", ["2"])
def test_sigterm_drains_first_ready_503_while_requests_are_still_served(
    server: tuple[subprocess.Popen[bytes], str, int, Path],
) -> None:
    process, base, _, log_path = server
    with httpx.Client(base_url=base, timeout=5) as client:
        assert client.get("/health").headers.get("connection") != "close"
        terminated_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        ready = client.get("/ready")
        assert ready.status_code == 503, ready.text
        assert ready.json()["checks"] == {"shutdown": "draining"}
        served = 0
        while time.monotonic() - terminated_at < 1.5:  # within the drain: new requests are served ...
            response = client.get("/health")
            assert response.status_code == 200
            assert response.headers["connection"] == "close"  # ... and keepalive clients told to go
            served += 1
            time.sleep(0.05)
        assert served > 5 and process.poll() is None
    assert process.wait(30) == 0
    stopped_after = time.monotonic() - terminated_at
    assert stopped_after >= 2.0, f"stopped {stopped_after:.1f} s after SIGTERM, before the 2 s drain ended"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/health", timeout=2)
    events = [
        json.loads(line).get("event") for line in log_path.read_text().splitlines() if line.startswith("{")
    ]
    assert events.index("shutdown_requested") < events.index("drain_finished") < events.index("app_stopped")


def test_a_taken_metrics_port_stops_startup_with_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {
            **os.environ,
            "DATA_DIR": str(tmp_path / "var"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'recon.db'}",
            "METRICS_PORT": str(taken.getsockname()[1]),
            "HOST": "127.0.0.1",
        }
        done = subprocess.run(
            [sys.executable, "-m", "recon.cli", "serve", "--port", str(free_port())],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 3
    assert b"METRICS_PORT" in done.stdout + done.stderr
