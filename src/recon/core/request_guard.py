"""Bounds every request before any route parses it (pure ASGI middleware, inside the request-context one).

- header lines together over REQUEST_MAX_HEADER_BYTES: 431;
- a body over REQUEST_MAX_BODY_BYTES: 413 at once from Content-Length, else as soon as the received bytes
  pass it (nothing larger is buffered). Multipart uploads stream to the store instead: they are cut at
  UPLOAD_MAX_BYTES plus the form's framing, while they arrive;
- NUL characters and lone surrogates in the path, the query string, a JSON or url-encoded form body: 422
  naming the field, so they never reach SQL (PostgreSQL refuses NUL in text) or a response encoder;
- JSON bodies nested deeper than REQUEST_MAX_JSON_DEPTH: 422 (the parser's own recursion limit included).

Bodies are checked once here and replayed to the app unchanged; a body that is not JSON at all is left to the
route's own validation (422 with the parser's message).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recon.config import Settings
from recon.core.asgi import HttpMiddleware
from recon.core.errors import FieldError, problem_response
from recon.core.text_guard import loads_bounded, printable, text_problem

# Room for the multipart framing and the small form fields on top of UPLOAD_MAX_BYTES.
MULTIPART_OVERHEAD_BYTES = 1024 * 1024


class _Refused(Exception):
    def __init__(self, status: int, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors or []


class RequestGuardMiddleware(HttpMiddleware):
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        super().__init__(app)
        self.max_body = settings.request_max_body_bytes
        self.max_headers = settings.request_max_header_bytes
        self.max_depth = settings.request_max_json_depth
        self.max_upload = settings.upload_max_bytes

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        content_type = headers.get("content-type", "").lower()
        try:
            self._check_head(scope)
            if content_type.startswith("multipart/"):
                await self.app(scope, self._stream_limited(receive, headers), send)
                return
            body = await self._read_body(receive, headers)
            self._check_body(body, content_type)
        except _Refused as refused:
            response = problem_response(
                None, status=refused.status, detail=refused.detail, errors=refused.errors
            )
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    # -- head ----------------------------------------------------------------------------------------------
    def _check_head(self, scope: Scope) -> None:
        size = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
        if size > self.max_headers:
            raise _Refused(431, f"the request headers ({size} bytes) exceed the limit of {self.max_headers}")
        problem = text_problem(scope["path"])
        if problem is not None:
            raise _Refused(422, f"path: {problem}", [FieldError(field="path", message=problem)])
        query = scope.get("query_string", b"").decode("latin-1")
        _check_pairs(query, "query")

    # -- body ----------------------------------------------------------------------------------------------
    def _declared_too_large(self, headers: Headers, limit: int) -> int | None:
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return int(declared)
        return None

    async def _read_body(self, receive: Receive, headers: Headers) -> bytes:
        declared = self._declared_too_large(headers, self.max_body)
        if declared is not None:
            raise _Refused(413, f"the request body ({declared} bytes) exceeds the limit of {self.max_body}")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: nothing to answer
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _Refused(413, f"the request body exceeds the limit of {self.max_body} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _check_body(self, body: bytes, content_type: str) -> None:
        if not body:
            return
        if content_type.startswith("application/x-www-form-urlencoded"):
            _check_pairs(body.decode("latin-1"), "body")
            return
        media = content_type.split(";", 1)[0].strip()
        if media and media != "application/json" and not media.endswith("+json"):
            return  # FastAPI only parses JSON (or a missing content type) as a JSON body
        try:
            _document, problem = loads_bounded(body, "body", self.max_depth)
        except ValueError:
            return  # not JSON: the route's validation answers 422 with the parser's message
        if problem is not None:
            raise _Refused(422, f"{problem.field}: {problem.message}", [problem])

    def _stream_limited(self, receive: Receive, headers: Headers) -> Receive:
        limit = self.max_upload + MULTIPART_OVERHEAD_BYTES
        too_large = HTTPException(413, detail=f"the upload exceeds the limit of {self.max_upload} bytes")
        if self._declared_too_large(headers, limit) is not None:

            async def refuse() -> Message:
                raise too_large  # raised while the route reads the form: rendered as a 413 problem

            return refuse
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large
            return message

        return limited


def _check_pairs(encoded: str, where: str) -> None:
    """Names and values of a query string or url-encoded form, decoded as the app will decode them."""
    if not encoded:
        return
    for name, value in parse_qsl(encoded, keep_blank_values=True):  # decoded as Starlette decodes them
        for text, what in ((name, "name"), (value, "value")):
            problem = text_problem(text)
            if problem is not None:
                field = f"{where}.{printable(name)}"
                message = problem if what == "value" else f"the parameter name {problem}"
                raise _Refused(422, f"{field}: {message}", [FieldError(field=field, message=message)])


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # later calls wait for the disconnect, as with the original channel

    return replay


def install_request_guard(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(RequestGuardMiddleware, settings=settings)
