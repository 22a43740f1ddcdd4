"""Prometheus metrics, served on METRICS_PORT (default 9091) by a small HTTP thread, not on the API port.

Process-wide metrics live in `REGISTRY`: HTTP requests (by route template, method, status), in-flight
requests, run durations and records per outcome (observed by the runs domain through `observe_run`), and the
process collector (RSS, CPU, fds). Per-application collectors read the app's database: jobs by state (a
cached GROUP BY over the jobs table) and connection-pool usage. Each server gets its own registry made of
the shared one plus its app's collectors, so several apps in one process (tests) never emit twice.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import structlog
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    make_wsgi_app,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session
from starlette.types import Message, Receive, Scope, Send

from recon.core.asgi import HttpMiddleware
from recon.jobs.metrics import job_counts_by_state
from recon.observability.request_context import route_template

log = structlog.get_logger("recon.metrics")

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
RUN_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
UNMATCHED_ROUTE = "<unmatched>"  # a 404 for an unknown path: never the raw path (unbounded label values)
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "recon_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "recon_http_request_duration_seconds",
    "Time from request start to the last byte of the response.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
HTTP_IN_FLIGHT = Gauge(
    "recon_http_requests_in_flight", "HTTP requests being processed now.", registry=REGISTRY
)
RUN_DURATION = Histogram(
    "recon_run_duration_seconds",
    "Wall time of reconciliation runs, by outcome (succeeded, failed, cancelled).",
    ["outcome"],
    buckets=RUN_BUCKETS,
    registry=REGISTRY,
)
RUN_RECORDS = Counter(
    "recon_run_records",
    "Records classified by reconciliation runs, by side and result (matched, break, suggested, unmatched, "
    "duplicate, rejected).",
    ["side", "result"],
    registry=REGISTRY,
)


def observe_run(
    duration_s: float, outcome: str, records: Mapping[tuple[str, str], int] | None = None
) -> None:
    """Record one finished run: `records` maps (side, result) to a count, e.g. {("left", "matched"): 9120}."""
    RUN_DURATION.labels(outcome=outcome).observe(duration_s)
    for (side, result), count in (records or {}).items():
        if count < 0:
            raise ValueError(f"negative record count for {side}/{result}: {count}")
        RUN_RECORDS.labels(side=side, result=result).inc(count)


# -- HTTP middleware -------------------------------------------------------------------------------------
class MetricsMiddleware(HttpMiddleware):
    """Counts and times every HTTP request, labelled by the matched route's template (not the raw path)."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 500
        started = time.perf_counter()

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_recording_status)
        except BaseException:
            status = 500  # the outer middleware turns the crash into a 500 problem
            raise
        finally:
            HTTP_IN_FLIGHT.dec()
            method = scope["method"] if scope["method"] in _KNOWN_METHODS else "OTHER"
            labels = (route_template(scope) or UNMATCHED_ROUTE, method, str(status))
            HTTP_REQUESTS.labels(*labels).inc()
            HTTP_DURATION.labels(*labels).observe(time.perf_counter() - started)


# -- per-application collectors --------------------------------------------------------------------------
class _SharedCollector(Collector):
    """Yields the process-wide metrics inside a per-server registry."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


JobCounter = Callable[[Session], Mapping[str, int]]


class JobsReader:
    """`recon_jobs{state}`: jobs per state from the jobs table, cached `ttl_s` so scrapes stay cheap."""

    name = "jobs"

    def __init__(
        self,
        session_factory: Callable[[], Session],
        ttl_s: float = 5.0,
        count: JobCounter = job_counts_by_state,
    ) -> None:
        self.session_factory = session_factory
        self.ttl_s = ttl_s
        self.count = count
        self._cached: tuple[float, dict[str, int]] | None = None
        self._lock = threading.Lock()

    def counts(self) -> dict[str, int]:
        with self._lock:
            now = time.monotonic()
            if self._cached is not None and now - self._cached[0] < self.ttl_s:
                return self._cached[1]
            with self.session_factory() as session:
                counts = dict(self.count(session))
            self._cached = (now, counts)
            return counts

    def read(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("recon_jobs", "Jobs in the database by state.", labels=["state"])
        for state, count in sorted(self.counts().items()):
            family.add_metric([state], count)
        yield family


class PoolReader:
    """Database connection pool: connections checked out, and for a QueuePool (PostgreSQL, a SQLite file) its
    size, idle connections and overflow. Other pools (in-memory SQLite) have no size; their checked-out
    connections are counted by pool events."""

    name = "db_pool"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._checked_out = 0
        self._lock = threading.Lock()
        event.listen(engine, "checkout", self._on_checkout)
        event.listen(engine, "checkin", self._on_checkin)

    def _on_checkout(self, *_args: object) -> None:
        with self._lock:
            self._checked_out += 1

    def _on_checkin(self, *_args: object) -> None:
        with self._lock:
            self._checked_out -= 1

    def close(self) -> None:
        event.remove(self.engine, "checkout", self._on_checkout)
        event.remove(self.engine, "checkin", self._on_checkin)

    def read(self) -> Iterator[Metric]:
        pool = self.engine.pool
        kind = [type(pool).__name__]
        checked_out = pool.checkedout() if hasattr(pool, "checkedout") else self._checked_out
        gauges = [("recon_db_pool_checked_out", "Connections lent out by the pool now.", checked_out)]
        if hasattr(pool, "size") and hasattr(pool, "overflow") and hasattr(pool, "checkedin"):
            gauges += [
                ("recon_db_pool_size", "Configured pool size (DB_POOL_SIZE).", pool.size()),
                ("recon_db_pool_checked_in", "Idle connections held by the pool.", pool.checkedin()),
                (
                    "recon_db_pool_overflow",
                    "Connections beyond the pool size (negative: room left before the size is reached).",
                    pool.overflow(),
                ),
            ]
        for name, doc, value in gauges:
            family = GaugeMetricFamily(name, doc, labels=["pool"])
            family.add_metric(kind, value)
            yield family


class DatabaseCollector(Collector):
    """The app's database metrics. A reader that fails (database down) yields `recon_metrics_collector_up
    {collector=...} 0` instead of breaking the whole scrape."""

    def __init__(
        self, engine: Engine, session_factory: Callable[[], Session], jobs_ttl_s: float = 5.0
    ) -> None:
        self.pool = PoolReader(engine)
        self.jobs = JobsReader(session_factory, ttl_s=jobs_ttl_s)

    def close(self) -> None:
        self.pool.close()

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "recon_metrics_collector_up", "1 when the collector could read its source.", labels=["collector"]
        )
        families: list[Metric] = []
        for reader in (self.pool, self.jobs):
            try:
                families.extend(reader.read())
            except Exception as exc:
                error = str(exc).splitlines()[0][:200]
                log.warning("metrics_collector_failed", collector=reader.name, error=error)
                up.add_metric([reader.name], 0)
            else:
                up.add_metric([reader.name], 1)
        yield up
        yield from families


def app_registry(collectors: Iterable[Collector]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SharedCollector())
    for collector in collectors:
        registry.register(collector)
    return registry


# -- the metrics HTTP server -----------------------------------------------------------------------------
class MetricsServerError(RuntimeError):
    pass


@dataclass
class MetricsServer:
    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


# How often the server thread looks for a stop request: stop() waits up to this long. (prometheus_client's
# start_http_server keeps serve_forever's 0.5 s, which made every app shutdown wait ~0.3 s on average.)
_STOP_POLL_S = 0.05


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged."""


def start_metrics_server(host: str, port: int, registry: CollectorRegistry) -> MetricsServer:
    """Serve `registry` at http://host:port/metrics in a daemon thread (port 0: a free port)."""

    class Server(ThreadingWSGIServer):  # one class per server: its address family is this host's
        pass

    try:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        Server.address_family = family
        server = make_server(
            str(address[0]), port, make_wsgi_app(registry), Server, handler_class=_QuietHandler
        )
    except OSError as exc:
        raise MetricsServerError(f"cannot serve metrics on {host}:{port} (METRICS_PORT): {exc}") from exc
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": _STOP_POLL_S},
        name="metrics-server",
        daemon=True,
    )
    thread.start()
    metrics_server = MetricsServer(server, thread)
    log.info("metrics_server_started", host=host, port=metrics_server.port)
    return metrics_server
