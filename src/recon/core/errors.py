"""RFC 9457 problem details: one exception family and the handlers that render it.

Raise `NotFound`, `Conflict`, ... anywhere below an endpoint; the handlers installed by
`install_problem_handlers` turn them (and validation errors, HTTP errors, integrity races and unexpected
crashes) into `application/problem+json` with a stable `type` URI. Stack traces go to the log, never
to the client.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any, TypeVar

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

_T = TypeVar("_T")

PROBLEM_BASE = "https://recon.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

log = structlog.get_logger("recon.errors")


def problem_type(slug: str) -> str:
    return PROBLEM_BASE + slug


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """The problem+json body (also the OpenAPI schema of every error response)."""

    type: str = Field(examples=[problem_type("not-found")])
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] = Field(default_factory=list)


class ProblemError(Exception):
    """An error that becomes a problem+json response. Subclasses fix status, type slug and title."""

    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal server error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        type: str | None = None,
        title: str | None = None,
        errors: Sequence[FieldError | dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        place_detail: bool = True,
    ) -> None:
        super().__init__(detail or self.title)
        self.status = status or self.status
        self.type = type or problem_type(self.slug)
        self.title = title or self.title
        self.detail = detail
        self.errors = [e if isinstance(e, FieldError) else FieldError(**e) for e in errors or ()]
        self.headers = headers or {}
        # False: `fields_under` leaves the detail as written even when it opens with a field's path.
        self.place_detail = place_detail


@contextmanager
def fields_under(location: str) -> Iterator[None]:
    """Place a service's field errors in the request: a service names the fields of the command it was given
    (`groups[0].version`, `comment`, "" for the whole command); raised inside this block they read
    `body.groups[0].version`, `body.comment`, `body` (location "body"), as request validation names them.
    A detail or message that opens with one of those paths (`cron: not a valid ...`) names it placed too."""
    try:
        yield
    except ProblemError as exc:
        fields = [e.field for e in exc.errors if e.field]
        if exc.detail is not None and exc.place_detail:
            exc.detail = _placed(exc.detail, fields, location)
        exc.errors = [
            FieldError(
                field=f"{location}.{e.field}" if e.field else location,
                message=_placed(e.message, fields, location),
            )
            for e in exc.errors
        ]
        raise


def _placed(text: str, fields: Sequence[str], location: str) -> str:
    """`text` under `location` when it opens with one of `fields` (or a path below one) and a colon."""
    for field in fields:
        if re.match(rf"{re.escape(field)}(?:[.\[][^:]*)?:", text):
            return f"{location}.{text}"
    return text


class BadRequest(ProblemError):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(ProblemError):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class Forbidden(ProblemError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(ProblemError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(ProblemError):
    status, slug, title = 409, "conflict", "Conflict"


class PayloadTooLarge(ProblemError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(ProblemError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class Unprocessable(ProblemError):
    status, slug, title = 422, "validation-error", "Validation error"


class IdempotencyKeyReused(ProblemError):
    """The same Idempotency-Key came back with a different request (`what`: "request body", "file", ...)."""

    status, slug, title = 422, "idempotency-key-reused", "Idempotency key reused"

    def __init__(self, what: str = "request body") -> None:
        super().__init__(f"this Idempotency-Key was already used for a different {what}; use a new key")


class TooManyRequests(ProblemError):
    status, slug, title = 429, "rate-limited", "Too many requests"


class ServiceUnavailable(ProblemError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"


# The type of an HTTP error raised outside the ProblemError family (routing, FastAPI): the slug of the class
# for its status, and two only routing raises.
_SLUG_BY_STATUS = {
    error.status: error.slug
    for error in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        Unprocessable,
        TooManyRequests,
        ServiceUnavailable,
    )
} | {405: "method-not-allowed", 406: "not-acceptable"}


def or_404(found: _T | None, noun: str) -> _T:
    """`found`, or a 404 "<noun> not found" when it is None (a lookup scoped to the caller's project)."""
    if found is None:
        raise NotFound(f"{noun} not found")
    return found


def problem_response(
    request: Request | None,
    *,
    status: int,
    type: str | None = None,
    title: str | None = None,
    detail: str | None = None,
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    body = Problem(
        type=type or problem_type(_SLUG_BY_STATUS.get(status, "http-error")),
        title=title or _status_phrase(status),
        status=status,
        detail=detail,
        instance=request.url.path if request is not None else None,
        request_id=request_id,
        errors=list(errors),
    )
    return JSONResponse(
        jsonable_encoder(body), status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def validation_field_errors(exc: RequestValidationError) -> list[FieldError]:
    errors = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        errors.append(FieldError(field=".".join(loc), message=str(error.get("msg", "invalid value"))))
    return errors


def problem_error_response(request: Request, exc: ProblemError) -> JSONResponse:
    """The problem+json answer to a ProblemError (raised, or returned where the transaction must commit)."""
    return problem_response(
        request,
        status=exc.status,
        type=exc.type,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        headers=exc.headers,
    )


async def _problem_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_error_response(request, exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_field_errors(exc)
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:5]) or "invalid request"
    return problem_response(request, status=422, title="Validation error", detail=detail, errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(request, status=exc.status_code, detail=detail, headers=headers)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # A uniqueness/foreign-key race that the service did not pre-check; never leak the SQL.
    log.warning("integrity_error", error=str(getattr(exc, "orig", exc)).splitlines()[0][:300])
    return problem_response(
        request, status=409, detail="the change conflicts with existing data (a concurrent change?)"
    )


async def _stale_data(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(
        request,
        status=409,
        type=problem_type("version-conflict"),
        title="Version conflict",
        detail="the resource was modified by someone else; reload and retry",
    )


async def _operational_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("database_unavailable", error=str(getattr(exc, "orig", exc)).splitlines()[0][:300])
    return problem_response(
        request, status=503, detail="the database is unavailable; retry later", headers={"Retry-After": "5"}
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers; the last-resort 500 lives in the request-context middleware (it must also echo
    the request id, which Starlette's outermost error middleware cannot)."""
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(StaleDataError, _stale_data)
    app.add_exception_handler(OperationalError, _operational_error)


def _problem_doc(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description, "content": {PROBLEM_MEDIA_TYPE: {}}}


# Documented on every /api/v1 route (schemathesis checks responses against the schema).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem_doc("Bad request"),
    401: _problem_doc("Authentication required"),
    403: _problem_doc("Role too low for this action"),
    404: _problem_doc("Not found (or not visible to the caller)"),
    409: _problem_doc("Conflict"),
    422: _problem_doc("Validation error"),
    429: _problem_doc("Rate limited"),
    503: _problem_doc("Service unavailable"),
}
