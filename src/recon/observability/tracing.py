"""OpenTelemetry tracing, on when OTEL_EXPORTER_OTLP_ENDPOINT is set: requests (FastAPI), SQL statements
(SQLAlchemy) and whatever code wraps in `span(...)` (job runs, engine passes) go to the OTLP/HTTP exporter.

With tracing off, `span()` is a cheap no-op, so callers never test for it. The provider is not made the global
one: each app (tests build many) owns its provider, and `span()` uses the one activated last. The engine does
not import OpenTelemetry: the caller turns its progress events into spans with `pass_spans()`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import structlog
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, Status, StatusCode
from sqlalchemy import Engine

from recon import __version__
from recon.config import Settings

log = structlog.get_logger("recon.tracing")

API_SERVICE = "recon-api"
WORKER_SERVICE = "recon-worker"
# Probes and scrapes would drown the traces: not traced.
# Matched (re.search) against the full URL; the list is comma-separated.
EXCLUDED_URLS = r"/(health|ready)/?(\?|$)"
_INSTRUMENTATION = "recon"


class _Active:
    """The provider `span()` uses (the app or worker activated last)."""

    provider: TracerProvider | None = None
    lock = threading.Lock()


def traces_endpoint(base: str) -> str:
    """OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL; the OTLP/HTTP traces path is appended."""
    base = base.rstrip("/")
    return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


def make_span_processor(settings: Settings) -> SpanProcessor:
    """Batching OTLP/HTTP export (headers, timeout, compression from the standard OTEL_* variables).
    Tests replace this function to capture spans in memory."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    assert settings.otel_exporter_otlp_endpoint
    endpoint = traces_endpoint(settings.otel_exporter_otlp_endpoint)
    return BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint))


def build_provider(settings: Settings, service_name: str) -> TracerProvider | None:
    """A provider exporting to the configured endpoint, or None when tracing is off. No I/O."""
    if not settings.otel_exporter_otlp_endpoint:
        return None
    resource = Resource.create(
        {
            "service.name": service_name,
            "service.version": __version__,
            "deployment.environment.name": settings.environment,
        }
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(make_span_processor(settings))
    return provider


def instrument_app(app: FastAPI, provider: TracerProvider) -> None:
    """Request spans (server span outermost, so the access log line carries the trace id)."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        meter_provider=NoOpMeterProvider(),  # metrics are Prometheus' job
        excluded_urls=EXCLUDED_URLS,
        exclude_spans=["receive", "send"],
    )


def instrument_engine(engine: Engine, provider: TracerProvider) -> None:
    """A span per SQL statement of this engine (the statement text, never its parameters)."""
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

    meter = NoOpMeterProvider().get_meter(_INSTRUMENTATION)
    usage = meter.create_up_down_counter("db.client.connections.usage")
    # Not SQLAlchemyInstrumentor().instrument(): it is a process-wide singleton that instruments only once.
    tracer = provider.get_tracer("opentelemetry.instrumentation.sqlalchemy", __version__)
    EngineTracer(tracer, engine, usage)  # type: ignore[no-untyped-call]


def activate(provider: TracerProvider) -> None:
    """Make `span()` use this provider."""
    with _Active.lock:
        _Active.provider = provider


def shutdown(provider: TracerProvider) -> None:
    """Flush pending spans and stop exporting; `span()` turns into a no-op if this provider was active."""
    with _Active.lock:
        if _Active.provider is provider:
            _Active.provider = None
    try:
        provider.shutdown()
    except Exception as exc:  # an unreachable collector must not break the shutdown
        log.warning("tracing_shutdown_failed", error=str(exc)[:200])


def start_worker_tracing(settings: Settings, engine: Engine | None = None) -> TracerProvider | None:
    """For `recon worker`: service "recon-worker", SQL spans of `engine`; call `shutdown()` at exit."""
    provider = build_provider(settings, WORKER_SERVICE)
    if provider is not None:
        if engine is not None:
            instrument_engine(engine, provider)
        activate(provider)
    return provider


def is_enabled() -> bool:
    return _Active.provider is not None


def _attribute(value: Any) -> Any:
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str | bool | int | float) for v in value):
        return list(value)
    return str(value)


@contextmanager
def span(name: str, **attrs: Any) -> Iterator[Span | None]:
    """A child span of the current one (`with span("run.execute", run_id=rid):`); None when tracing is off.
    An exception escaping the block is recorded on the span and re-raised."""
    provider = _Active.provider
    if provider is None:
        yield None
        return
    tracer = provider.get_tracer(_INSTRUMENTATION, __version__)
    attributes = {key: _attribute(value) for key, value in attrs.items() if value is not None}
    with tracer.start_as_current_span(name, attributes=attributes) as current:
        yield current


class PassEvent(Protocol):
    """What `recon.engine.ProgressEvent` carries (duck-typed: this module does not import the engine)."""

    pass_index: int
    pass_name: str
    passes: int
    stage: str
    groups: int
    left: int
    right: int


@contextmanager
def pass_spans(
    forward: Callable[[Any], None] | None = None, prefix: str = "engine.pass"
) -> Iterator[Callable[[Any], None]]:
    """A progress callback for `reconcile(..., progress=cb)` that opens a span at each pass's "start" event
    and ends it at "done" with the groups and records matched; `forward` still receives every event.
    A pass left open by an exception ends with an error status."""
    open_spans: list[Span] = []

    def on_progress(event: PassEvent) -> None:
        provider = _Active.provider
        if provider is not None and hasattr(event, "pass_name"):  # other events (CLI stages) pass through
            if event.stage == "start":
                tracer = provider.get_tracer(_INSTRUMENTATION, __version__)
                open_spans.append(
                    tracer.start_span(
                        f"{prefix} {event.pass_name}",
                        attributes={
                            "recon.pass.index": event.pass_index,
                            "recon.pass.name": event.pass_name,
                            "recon.pass.count": event.passes,
                        },
                    )
                )
            elif event.stage == "done" and open_spans:
                current = open_spans.pop()
                current.set_attributes(
                    {
                        "recon.pass.groups": event.groups,
                        "recon.pass.left_matched": event.left,
                        "recon.pass.right_matched": event.right,
                    }
                )
                current.end()
        if forward is not None:
            forward(event)

    try:
        yield on_progress
    except BaseException as exc:
        for current in open_spans:
            current.record_exception(exc)
            current.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:200]))
        raise
    finally:
        while open_spans:
            open_spans.pop().end()


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
