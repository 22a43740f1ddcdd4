"""Request id (honour a sane `X-Request-ID` or generate one; echo it), access log line, last-resort 500.

Pure ASGI middleware, outermost in the stack, so even a crash's 500 problem carries the request id.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from fastapi.encoders import jsonable_encoder
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from recon.core.asgi import HttpMiddleware
from recon.core.errors import PROBLEM_MEDIA_TYPE, Problem, problem_type

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

log = structlog.get_logger("recon.http")


def route_template(scope: Scope) -> str | None:
    """The matched route's full path template (e.g. /api/v1/projects/{project_id}), for logs and metrics."""
    effective = scope.get("fastapi", {}).get("effective_route_context")
    route = effective if effective is not None else scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None


def sane_request_id(value: str | None) -> str | None:
    return value if value is not None and _SANE_REQUEST_ID.match(value) else None


class RequestContextMiddleware(HttpMiddleware):
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = sane_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER)) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        response_started = False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled_error", method=scope["method"], path=scope["path"])
            if response_started:
                raise  # nothing sensible can be sent any more; the server closes the connection
            body = Problem(
                type=problem_type("internal-error"),
                title="Internal server error",
                status=500,
                detail="an unexpected error occurred; quote the request id when reporting it",
                instance=scope["path"],
                request_id=request_id,
            )
            response = JSONResponse(jsonable_encoder(body), status_code=500, media_type=PROBLEM_MEDIA_TYPE)
            await response(scope, receive, send_with_id)
        finally:
            log.info(
                "http_request",
                method=scope["method"],
                path=scope["path"],
                route=route_template(scope),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()
