"""Wiring observability into the app: `install(app)` in `create_app` (middleware and request tracing, no I/O)
and `start(app)` in the lifespan (metrics server, DB collectors, SQL tracing), whose `stop()` runs in the
lifespan's `finally` before the engine is disposed."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from recon.config import Settings
from recon.observability import tracing
from recon.observability.metrics import (
    DatabaseCollector,
    MetricsMiddleware,
    MetricsServer,
    app_registry,
    start_metrics_server,
)

log = structlog.get_logger("recon.observability")


def install(app: FastAPI, settings: Settings) -> None:
    """Add the metrics middleware and, when OTEL_EXPORTER_OTLP_ENDPOINT is set, request tracing.
    Call before the request-context middleware is added (that one must stay outermost of the two)."""
    app.add_middleware(MetricsMiddleware)
    provider = tracing.build_provider(settings, settings.otel_service_name)
    app.state.tracer_provider = provider
    if provider is not None:
        tracing.instrument_app(app, provider)


@dataclass
class Observability:
    collector: DatabaseCollector
    metrics_server: MetricsServer
    tracer_provider: TracerProvider | None

    def stop(self) -> None:
        self.metrics_server.stop()
        self.collector.close()
        if self.tracer_provider is not None:
            tracing.shutdown(self.tracer_provider)
        log.info("observability_stopped")


def start(app: FastAPI) -> Observability:
    """Serve /metrics on METRICS_PORT (app.state.metrics_port holds the bound port) and trace SQL.
    Raises MetricsServerError when the port cannot be bound."""
    settings: Settings = app.state.settings
    collector = DatabaseCollector(app.state.engine, app.state.session_factory)
    try:
        server = start_metrics_server(settings.host, settings.metrics_port, app_registry([collector]))
    except Exception:
        collector.close()
        raise
    app.state.metrics_port = server.port
    provider: TracerProvider | None = getattr(app.state, "tracer_provider", None)
    if provider is not None:
        tracing.instrument_engine(app.state.engine, provider)
        tracing.activate(provider)
        log.info(
            "tracing_enabled",
            endpoint=settings.otel_exporter_otlp_endpoint,
            service=settings.otel_service_name,
        )
    return Observability(collector, server, provider)
