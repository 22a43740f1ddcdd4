"""The FastAPI application: `create_app()` (uvicorn factory: `recon.app:create_app`)."""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import importlib.util
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.exc import SQLAlchemyError

from recon import __version__
from recon.api import include_api
from recon.auth.bootstrap import bootstrap_admin
from recon.auth.policy import api_routes
from recon.config import Settings, get_settings
from recon.core.db import create_db_engine, create_session_factory
from recon.core.errors import PROBLEM_MEDIA_TYPE, install_problem_handlers
from recon.core.migrations import head_revisions
from recon.core.request_guard import install_request_guard
from recon.core.security_headers import install_security_headers
from recon.observability import runtime as observability
from recon.observability.health import build_health_router
from recon.observability.logging import configure_logging_from
from recon.observability.request_context import RequestContextMiddleware
from recon.web.spa import install_spa
from recon.worker.embedded import start_embedded_worker

log = structlog.get_logger("recon.app")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = create_db_engine(settings)
    app.state.engine = engine
    app.state.session_factory = create_session_factory(engine)
    try:
        app.state.migration_heads = head_revisions(settings)
    except Exception as exc:  # a missing migrations dir makes /ready say so instead of crashing the process
        log.error("migrations_not_found", error=str(exc), migrations_dir=str(settings.migrations_dir))
        app.state.migration_heads = set()
    try:
        bootstrap_admin(app.state.session_factory, settings)
    except (SQLAlchemyError, ValueError) as exc:
        log.error("admin_bootstrap_failed", error=str(exc).splitlines()[0][:300])
    app.state.observability = observability.start(app)  # metrics server on METRICS_PORT, SQL tracing
    app.state.worker = start_embedded_worker(settings, app.state.session_factory)
    if settings.environment != "test":  # tests build many apps in one process
        # The startup heap (~270k objects) leaves the GC's generations: full collections no longer scan it
        # (measured: p99 of a 1000-group results page 269 -> 103 ms).
        gc.freeze()
    gc.enable()  # `recon serve` disables it while starting
    log.info("app_started", environment=settings.environment, database=engine.url.get_backend_name())
    try:
        yield
    finally:
        if app.state.worker is not None:  # finish or release the running jobs before the engine goes
            await asyncio.to_thread(app.state.worker.stop, settings.shutdown_timeout_s)
        app.state.observability.stop()
        engine.dispose()
        log.info("app_stopped")


def install_openapi(app: FastAPI) -> None:
    """Post-process the generated schema: each operation gets `x-required-role` (its route policy), and
    problem responses are documented under `application/problem+json` (what the handlers really send)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        policies = {(r.path, m.lower()): r.policy for r in api_routes(app) for m in r.methods}
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                policy = policies.get((path, method))
                if policy is not None:
                    operation["x-required-role"] = policy
                for response in operation.get("responses", {}).values():
                    content = response.get("content", {})
                    if PROBLEM_MEDIA_TYPE in content and "application/json" in content:
                        content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging_from(settings)
    app = FastAPI(
        title="Reconciliation Platform API",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served below with the Swagger UI assets of the installed package (no CDN)
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_problem_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID"],
        )
    observability.install(app, settings)  # metrics middleware, request tracing when OTLP is configured
    install_security_headers(app)
    install_request_guard(app, settings)  # bounds and refuses hostile input before any route parses it
    app.add_middleware(RequestContextMiddleware)  # added last = outermost
    app.include_router(build_health_router(include_in_schema=False))
    include_api(app)
    install_openapi(app)
    install_docs(app)
    install_spa(app, settings.frontend_dist)  # last: its catch-all route must not shadow any other
    return app


DOCS_ASSETS = "/api/docs/assets"


def install_docs(app: FastAPI) -> None:
    """Interactive API docs at /api/docs that work offline: Swagger UI's files come from the installed
    `fastapi-offline` package (its static folder), served by this app; nothing is loaded from a CDN."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles

    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the fastapi-offline package (Swagger UI assets) is not installed")
    assets = Path(next(iter(spec.submodule_search_locations))) / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/api/v1/openapi.json",
            title=f"{app.title} - docs",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )
        page.headers["Content-Security-Policy"] = docs_csp(bytes(page.body).decode())
        return page


def docs_csp(html: str) -> str:
    """The docs page loads only this app's assets and runs only its own inline start-up script (allowed by its
    hash, so an injected script would not run); Swagger UI styles elements inline and draws data: images."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'none'"
    )
