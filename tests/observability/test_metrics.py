"""Prometheus metrics: served on METRICS_PORT by its own server, HTTP by route template, jobs, DB pool."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Receive, Scope, Send

from recon.app import create_app
from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.models import Job, User
from recon.observability.metrics import (
    HTTP_IN_FLIGHT,
    HTTP_REQUESTS,
    UNMATCHED_ROUTE,
    MetricsMiddleware,
    MetricsServerError,
    observe_run,
)

sqlite_only = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(app: FastAPI) -> Samples:
    response = httpx.get(f"http://127.0.0.1:{app.state.metrics_port}/metrics", timeout=10)
    assert response.status_code == 200
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def running(app: FastAPI) -> Iterator[tuple[FastAPI, TestClient]]:
    with TestClient(app) as client:
        yield app, client


@sqlite_only
def test_metrics_are_served_on_their_own_port_not_the_api(running: tuple[FastAPI, TestClient]) -> None:
    app, client = running
    assert app.state.metrics_port > 0
    assert client.get("/metrics").status_code == 404  # not on the API port
    names = {name for name, _ in scrape(app)}
    assert {"process_resident_memory_bytes", "recon_jobs", "recon_db_pool_checked_out"} <= names


@sqlite_only
def test_http_requests_are_counted_by_route_template_method_and_status(
    running: tuple[FastAPI, TestClient], make_user: Callable[..., User], auth_headers: Callable[..., Any]
) -> None:
    app, client = running
    headers = auth_headers(make_user())
    route = "/api/v1/projects/{project_id}"
    before = scrape(app)
    for project_id in ("11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"):
        assert client.get(f"/api/v1/projects/{project_id}", headers=headers).status_code == 404
    assert client.get("/api/v1/projects", headers=headers).status_code == 200
    assert client.get("/no/such/path/123").status_code == 404
    after = scrape(app)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("recon_http_requests_total", route=route, method="GET", status="404") == 2
    assert delta("recon_http_request_duration_seconds_count", route=route, method="GET", status="404") == 2
    assert delta("recon_http_requests_total", route="/api/v1/projects", method="GET", status="200") == 1
    assert delta("recon_http_requests_total", route=UNMATCHED_ROUTE, method="GET", status="404") == 1
    raw_paths = [labels for name, labels in after if name == "recon_http_requests_total"]
    assert not any("1111" in str(labels) or "/no/such" in str(labels) for labels in raw_paths)


async def _asgi_checking_in_flight(scope: Scope, receive: Receive, send: Send) -> None:
    in_flight = HTTP_IN_FLIGHT._value.get()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(in_flight).encode()})


async def _asgi_crashing(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("boom")


def test_in_flight_gauge_and_crashes_count_as_500() -> None:
    idle = HTTP_IN_FLIGHT._value.get()
    client = TestClient(MetricsMiddleware(_asgi_checking_in_flight))  # no lifespan: a bare ASGI app
    assert client.get("/x").text == str(idle + 1)
    assert HTTP_IN_FLIGHT._value.get() == idle
    crashed = HTTP_REQUESTS.labels(UNMATCHED_ROUTE, "GET", "500")
    before = crashed._value.get()
    crashing = TestClient(MetricsMiddleware(_asgi_crashing), raise_server_exceptions=False)
    assert crashing.get("/crash").status_code == 500
    assert crashed._value.get() == before + 1
    assert HTTP_IN_FLIGHT._value.get() == idle


@sqlite_only
def test_jobs_by_state_come_from_the_jobs_table(
    make_settings: Callable[..., Settings], session_factory: SessionFactory
) -> None:
    app = create_app(make_settings(embedded_worker=False))  # nobody leases the rows below
    with session_scope(session_factory) as session:
        for status in ("queued", "queued", "running", "failed"):
            session.add(Job(kind="metrics_test", payload={}, status=status))
    with TestClient(app):
        samples = scrape(app)
    assert value(samples, "recon_metrics_collector_up", collector="jobs") == 1
    assert value(samples, "recon_jobs", state="queued") == 2
    assert value(samples, "recon_jobs", state="running") == 1
    assert value(samples, "recon_jobs", state="failed") == 1
    assert ("recon_jobs", (("state", "cancelled"),)) in samples  # every state is present, zero or not
    assert value(samples, "recon_jobs", state="cancelled") == 0


def test_db_pool_usage(running: tuple[FastAPI, TestClient], settings: Settings) -> None:
    app, client = running
    assert client.get("/ready").status_code == 200
    samples = scrape(app)
    assert value(samples, "recon_metrics_collector_up", collector="db_pool") == 1
    pool = type(app.state.engine.pool).__name__
    assert ("recon_db_pool_checked_out", (("pool", pool),)) in samples
    if settings.is_sqlite:
        assert value(samples, "recon_db_pool_checked_out", pool=pool) == 0
    else:
        assert value(samples, "recon_db_pool_size", pool=pool) == settings.db_pool_size
        assert value(samples, "recon_db_pool_checked_in", pool=pool) >= 1  # /ready's connection went back
        with app.state.engine.connect():
            held = scrape(app)
        assert value(held, "recon_db_pool_checked_out", pool=pool) == 1


@sqlite_only
def test_a_broken_database_marks_its_collector_down_but_the_scrape_works(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings(database_url="postgresql://postgres@127.0.0.1:1/nothing"))
    with TestClient(app):
        samples = scrape(app)
    assert value(samples, "recon_metrics_collector_up", collector="jobs") == 0
    assert value(samples, "recon_metrics_collector_up", collector="db_pool") == 1
    assert "process_resident_memory_bytes" in {name for name, _ in samples}


@sqlite_only
def test_metrics_server_stops_with_the_app(app: FastAPI) -> None:
    with TestClient(app):
        port = app.state.metrics_port
        scrape(app)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


@sqlite_only
def test_metrics_port_in_use_fails_startup_naming_the_setting(make_settings: Callable[..., Settings]) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        app = create_app(make_settings(metrics_port=taken.getsockname()[1]))
        with pytest.raises(MetricsServerError, match="METRICS_PORT"), TestClient(app):
            pass


@sqlite_only
def test_observe_run_feeds_run_histogram_and_record_counters(running: tuple[FastAPI, TestClient]) -> None:
    app, _ = running
    before = scrape(app)
    observe_run(
        12.5, "succeeded", {("left", "matched"): 90, ("left", "unmatched"): 10, ("right", "matched"): 88}
    )
    after = scrape(app)
    count = "recon_run_duration_seconds_count"
    assert value(after, count, outcome="succeeded") - value(before, count, outcome="succeeded") == 1
    matched = value(after, "recon_run_records_total", side="left", result="matched")
    assert matched - value(before, "recon_run_records_total", side="left", result="matched") == 90
    with pytest.raises(ValueError, match="negative"):
        observe_run(1.0, "failed", {("left", "matched"): -1})
