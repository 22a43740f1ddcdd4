"""Structured JSON logs on stdout: one line per event with `request_id` and `trace_id`.

Library loggers (uvicorn, sqlalchemy, alembic) go through the same formatter. Per-request access lines come
from the request-context middleware (they carry the request id; uvicorn's own access log is turned off).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from opentelemetry import trace
from structlog.types import EventDict, Processor

from recon.config import Settings


def add_trace_context(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    event_dict.setdefault("request_id", None)
    span_context = trace.get_current_span().get_span_context()
    event_dict["trace_id"] = format(span_context.trace_id, "032x") if span_context.is_valid else None
    if span_context.is_valid:
        event_dict.setdefault("span_id", format(span_context.span_id, "016x"))
    return event_dict


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_trace_context,
    ]


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stdout` is at emit time (test capture swaps it after configuration)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Idempotent: replaces the root handler each call (tests build many apps)."""
    shared = _shared_processors()
    renderer: Processor = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = _StdoutHandler()
    handler.setFormatter(formatter)
    handler.set_name("recon")
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != "recon"] + [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "alembic", "sqlalchemy"):
        library_logger = logging.getLogger(name)
        library_logger.handlers = []
        library_logger.propagate = True
    # uvicorn's access log stays off however uvicorn was started (`recon serve` or `uvicorn --factory`): the
    # request-context middleware writes one `http_request` line per request, with its request id.
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
    # SQL echo stays off unless asked for explicitly: it would flood the JSON stream.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)


def configure_logging_from(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_format)
