"""Liveness (`/health`: the process answers) and readiness (`/ready`: database reachable, migrations at head,
Redis reachable when configured; 503 while the process drains before a stop). Readiness failures answer 503
problem+json with per-check details."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Engine, text

from recon.auth.policy import PUBLIC
from recon.config import Settings
from recon.core.errors import PROBLEM_MEDIA_TYPE, Problem, problem_type
from recon.core.migrations import current_revisions
from recon.observability import drain

log = structlog.get_logger("recon.health")
_PASSING = {"ok", "not configured"}


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


def check_database(engine: Engine, expected_heads: set[str]) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
            current = current_revisions(conn)
    except Exception as exc:  # any driver error means "not ready"
        log.warning("ready_database_failed", error=str(exc).splitlines()[0][:200])
        return {"database": "unreachable", "migrations": "unknown"}
    if not expected_heads:
        checks["migrations"] = "no migration scripts found"
    elif current == expected_heads:
        checks["migrations"] = "ok"
    else:
        checks["migrations"] = f"at {sorted(current) or 'nothing'}, expected {sorted(expected_heads)}"
    return checks


def check_redis(settings: Settings) -> str:
    if not settings.redis_url:
        return "not configured"
    import redis

    try:
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        log.warning("ready_redis_failed", error=str(exc)[:200])
        return "unreachable"
    return "ok"


def readiness(settings: Settings, engine: Engine, expected_heads: set[str]) -> tuple[bool, dict[str, str]]:
    checks = check_database(engine, expected_heads)
    checks["redis"] = check_redis(settings)
    ok = all(value in _PASSING for value in checks.values())
    return ok, checks


def build_health_router(include_in_schema: bool) -> APIRouter:
    router = APIRouter(tags=["health"], dependencies=[PUBLIC], include_in_schema=include_in_schema)

    @router.get("/health", response_model=Health)
    async def health() -> Health:
        """Liveness: the process is up (no dependency is touched)."""
        return Health(status="ok")

    @router.get(
        "/ready",
        response_model=Readiness,
        responses={503: {"model": Problem, "description": "Not ready", "content": {PROBLEM_MEDIA_TYPE: {}}}},
    )
    def ready(request: Request) -> Any:
        """Readiness: database reachable, migrations at head, Redis reachable when configured."""
        state = request.app.state
        if drain.active():  # stopping: taken out of the load balancer first (no dependency touched)
            ok, checks = False, {"shutdown": "draining"}
        else:
            ok, checks = readiness(state.settings, state.engine, state.migration_heads)
        if ok:
            return Readiness(status="ready", checks=checks)
        failed = ", ".join(f"{name}: {value}" for name, value in checks.items() if value not in _PASSING)
        body = Problem(
            type=problem_type("not-ready"),
            title="Service not ready",
            status=503,
            detail=failed,
            instance=request.url.path,
            request_id=getattr(request.state, "request_id", None),
        )
        content = {**jsonable_encoder(body), "checks": checks}
        return JSONResponse(content, status_code=503, media_type=PROBLEM_MEDIA_TYPE)

    return router
