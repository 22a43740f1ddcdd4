"""`recon serve`'s uvicorn settings under attack (issue 10, row 13), through a real uvicorn server on a
loopback port, on SQLite and PostgreSQL: X-Forwarded-For is ignored unless its sender is a configured proxy
(so it cannot dodge the per-IP limits), uvicorn's access log stays off as documented."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from recon.app import create_app
from recon.config import Settings
from recon.observability.serving import uvicorn_config


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The app of these settings served by uvicorn as `recon serve` configures it; yields its base URL."""
    server = uvicorn.Server(uvicorn_config(settings, "127.0.0.1", 0, factory=lambda: create_app(settings)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def _logins_with_spoofed_addresses(base: str, count: int) -> list[int]:
    statuses = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for i in range(count):
            response = http.post(
                "/api/v1/auth/login",
                json={"email": f"nobody-{i}@example.com", "password": "wrong-password-123"},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            )
            statuses.append(response.status_code)
        assert http.get("/ready").status_code == 200
    return statuses


@pytest.fixture
def limited(make_settings: Callable[..., Settings]) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        values = {"rate_limit_enabled": True, "rate_limit_auth_ip": "3/minute", "embedded_worker": False}
        return make_settings(**{**values, **overrides})

    return make


def test_x_forwarded_for_cannot_dodge_the_per_ip_limit_by_default(limited: Callable[..., Settings]) -> None:
    settings = limited()
    assert settings.forwarded_allow_ips == ""
    with serving(settings) as base:
        assert _logins_with_spoofed_addresses(base, 5) == [401, 401, 401, 429, 429]


def test_a_configured_proxy_is_trusted(limited: Callable[..., Settings]) -> None:
    with serving(limited(forwarded_allow_ips="127.0.0.1")) as base:
        assert _logins_with_spoofed_addresses(base, 5) == [401] * 5  # one client address each


def test_uvicorns_access_log_is_off_and_each_request_logs_once(limited: Callable[..., Settings]) -> None:
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    collector = Collect()
    settings = limited()
    with serving(settings) as base:
        logging.getLogger().addHandler(collector)  # where the app's log lines go (stdout, JSON)
        try:
            assert httpx.get(f"{base}/health", timeout=30).status_code == 200
        finally:
            logging.getLogger().removeHandler(collector)
    assert not [r for r in records if r.name == "uvicorn.access"]
    assert [r for r in records if r.name == "recon.http"], [r.name for r in records]
