"""The built SPA at `/` (embedded mode): hashed assets cached for a year, index.html revalidated on every
load, every other non-API path answered with index.html so client-side routes survive a reload. `/api/...`
never falls back: an unknown API path stays a 404 problem. In production nginx does the same
(deploy/docker/nginx/nginx.conf); both send the same security headers."""

from __future__ import annotations

from pathlib import Path

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from recon.core.errors import NotFound

log = structlog.get_logger("recon.web")

# Vite puts content-hashed files under assets/: a changed file gets a new name, so caching forever is safe.
IMMUTABLE = "public, max-age=31536000, immutable"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
        "object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
NOT_SPA_PREFIXES = ("api/", "health", "ready")


class HashedAssets(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = IMMUTABLE
            response.headers.update(SECURITY_HEADERS)
        return response


def install_spa(app: FastAPI, dist: Path | None) -> bool:
    """Serve `dist` (index.html + assets/) at `/`. Registered last: every API route matches first.
    Returns False (and serves nothing) when the build is missing."""
    if dist is None or not (dist / "index.html").is_file():
        log.info("frontend_not_built", dist=str(dist))
        return False
    root = dist.resolve()
    app.mount("/assets", HashedAssets(directory=root / "assets", check_dir=False), name="spa-assets")

    # Every method, so that an unknown path answers 404 (not 405) to a POST as it did without the SPA.
    @app.api_route(
        "/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    def spa(path: str, request: Request) -> Response:
        if request.method not in ("GET", "HEAD") or path == "api" or path.startswith(NOT_SPA_PREFIXES):
            raise NotFound(f"no route {request.url.path}")
        file = (root / path).resolve()
        if path and file.is_file() and file.is_relative_to(root) and file.name != "index.html":
            return FileResponse(file, headers={"Cache-Control": "no-cache", **SECURITY_HEADERS})
        return FileResponse(root / "index.html", headers={"Cache-Control": "no-cache", **SECURITY_HEADERS})

    return True
