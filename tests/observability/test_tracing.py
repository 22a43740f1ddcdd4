"""OpenTelemetry: request and SQL spans when OTEL_EXPORTER_OTLP_ENDPOINT is set (captured in memory here),
trace ids in log lines, span() and engine pass spans, no-ops when tracing is off."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from recon.app import create_app
from recon.cli.match import MatchRequest, run_match
from recon.config import Settings
from recon.demo import generate
from recon.models import User
from recon.observability import tracing

sqlite_only = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


@pytest.fixture
def exporter(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    memory = InMemorySpanExporter()
    monkeypatch.setattr(tracing, "make_span_processor", lambda _settings: SimpleSpanProcessor(memory))
    return memory


@pytest.fixture
def traced_client(
    exporter: InMemorySpanExporter, make_settings: Callable[..., Settings]
) -> Iterator[TestClient]:
    settings = make_settings(otel_exporter_otlp_endpoint="http://127.0.0.1:4318", embedded_worker=False)
    with TestClient(create_app(settings)) as client:
        yield client


def _trace_hex(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.trace_id, "032x")


def test_traces_endpoint_appends_the_signal_path() -> None:
    assert tracing.traces_endpoint("http://otel:4318") == "http://otel:4318/v1/traces"
    assert tracing.traces_endpoint("http://otel:4318/") == "http://otel:4318/v1/traces"
    assert tracing.traces_endpoint("http://otel:4318/v1/traces") == "http://otel:4318/v1/traces"


@sqlite_only
def test_request_and_sql_spans_share_the_trace_in_the_access_log(
    traced_client: TestClient,
    exporter: InMemorySpanExporter,
    make_user: Callable[..., User],
    auth_headers: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    headers = auth_headers(make_user())
    exporter.clear()
    capsys.readouterr()
    assert traced_client.get("/api/v1/projects", headers=headers).status_code == 200
    spans = exporter.get_finished_spans()
    server = [s for s in spans if s.kind == SpanKind.SERVER]
    assert len(server) == 1, [s.name for s in spans]
    request_span = server[0]
    assert request_span.name == "GET /api/v1/projects"
    assert request_span.resource.attributes["service.name"] == "recon-api"
    sql = [s for s in spans if s.kind == SpanKind.CLIENT]
    assert sql, [s.name for s in spans]
    assert {_trace_hex(s) for s in sql} == {_trace_hex(request_span)}
    statements = [str((s.attributes or {}).get("db.statement", "")) for s in sql]
    assert any("FROM users" in statement for statement in statements), statements

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("event") == "http_request"]
    assert access and access[-1]["trace_id"] == _trace_hex(request_span)


@sqlite_only
def test_probes_are_not_traced(traced_client: TestClient, exporter: InMemorySpanExporter) -> None:
    exporter.clear()
    assert traced_client.get("/health").status_code == 200
    assert traced_client.get("/ready").status_code == 200
    assert [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER] == []


@sqlite_only
def test_span_helper_nests_under_the_current_span_and_records_errors(
    traced_client: TestClient, exporter: InMemorySpanExporter
) -> None:
    exporter.clear()
    with tracing.span("job.run", job_id="j-1", attempt=2, skipped=None) as outer:
        assert outer is not None
        assert tracing.current_trace_id() == _trace_hex(outer)  # type: ignore[arg-type]
        with pytest.raises(ValueError), tracing.span("job.step", tags=("a", "b"), obj=Path("/x")):
            raise ValueError("bad input")
    finished = {s.name: s for s in exporter.get_finished_spans()}
    step, run = finished["job.step"], finished["job.run"]
    assert step.parent is not None and run.context is not None
    assert step.parent.span_id == run.context.span_id
    assert dict(run.attributes or {}) == {"job_id": "j-1", "attempt": 2}
    assert dict(step.attributes or {}) == {"tags": ("a", "b"), "obj": "/x"}
    assert step.status.status_code == StatusCode.ERROR
    assert any(event.name == "exception" for event in step.events)


@sqlite_only
def test_engine_passes_become_spans(
    traced_client: TestClient, exporter: InMemorySpanExporter, tmp_path: Path
) -> None:
    files = generate(300, tmp_path / "demo")
    seen: list[Any] = []
    exporter.clear()
    with tracing.span("run.execute") as run, tracing.pass_spans(forward=seen.append) as on_progress:
        run_match(MatchRequest(files.left, files.right, files.rules, tmp_path / "out"), on_progress)
    passes = [s for s in exporter.get_finished_spans() if s.name.startswith("engine.pass ")]
    assert passes
    assert len(passes) == len([e for e in seen if getattr(e, "stage", None) == "done"])
    assert run is not None and run.get_span_context() is not None
    for span in passes:
        assert span.parent is not None and span.parent.span_id == run.get_span_context().span_id
        attributes = dict(span.attributes or {})
        assert attributes["recon.pass.name"] == span.name.removeprefix("engine.pass ")
        assert attributes["recon.pass.groups"] >= 0
    assert sum(int((s.attributes or {})["recon.pass.left_matched"]) for s in passes) > 0


@sqlite_only
def test_a_pass_interrupted_by_an_error_ends_with_error_status(
    traced_client: TestClient, exporter: InMemorySpanExporter
) -> None:
    from recon.engine import ProgressEvent

    exporter.clear()
    with pytest.raises(RuntimeError), tracing.pass_spans() as on_progress:
        on_progress(ProgressEvent(1, "exact", 2, "start", 0, 0, 0))
        on_progress(ProgressEvent(1, "exact", 2, "done", 5, 5, 5))
        on_progress(ProgressEvent(2, "fuzzy", 2, "start", 0, 0, 0))
        raise RuntimeError("duckdb out of memory")
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert spans["engine.pass exact"].status.status_code == StatusCode.UNSET
    assert spans["engine.pass fuzzy"].status.status_code == StatusCode.ERROR


@sqlite_only
def test_tracing_off_is_a_no_op(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    assert client.app.state.tracer_provider is None  # type: ignore[attr-defined]
    assert not tracing.is_enabled()
    with tracing.span("anything", x=1) as current:
        assert current is None
    events: list[Any] = []
    with tracing.pass_spans(forward=events.append) as on_progress:
        on_progress("an event")
    assert events == ["an event"]
    capsys.readouterr()
    client.get("/health")
    line = next(json.loads(x) for x in capsys.readouterr().out.splitlines() if '"http_request"' in x)
    assert line["trace_id"] is None


@sqlite_only
def test_worker_tracing_uses_the_worker_service_name(
    exporter: InMemorySpanExporter, make_settings: Callable[..., Settings]
) -> None:
    assert tracing.start_worker_tracing(make_settings()) is None
    provider = tracing.start_worker_tracing(
        make_settings(otel_exporter_otlp_endpoint="http://collector:4318")
    )
    assert isinstance(provider, TracerProvider)
    try:
        with tracing.span("job.run"):
            pass
    finally:
        tracing.shutdown(provider)
    assert not tracing.is_enabled()
    (finished,) = exporter.get_finished_spans()
    assert finished.resource.attributes["service.name"] == "recon-worker"
