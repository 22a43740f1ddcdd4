"""Response headers every answer carries unless its route set its own (pure ASGI middleware):

- `X-Content-Type-Options: nosniff` (a JSON or CSV answer is never run as a script or page);
- `X-Frame-Options: DENY` and CSP `frame-ancestors 'none'` (no page of ours inside another site's frame);
- on anything but HTML a CSP `default-src 'none'` (an API answer loads nothing); HTML pages (the API docs,
  a single-page app) set their own policy, the default only forbids framing them;
- `Cache-Control: no-store` on /api/ answers (tokens, keys, TOTP secrets and financial data stay out of
  browser and proxy caches), except the docs' static assets.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import Message, Receive, Scope, Send

from recon.core.asgi import HttpMiddleware

API_PREFIX = "/api/"
CACHEABLE_PREFIX = "/api/docs/assets/"
API_CSP = "default-src 'none'; frame-ancestors 'none'"
HTML_CSP = "frame-ancestors 'none'"


class SecurityHeadersMiddleware(HttpMiddleware):
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        no_store = path.startswith(API_PREFIX) and not path.startswith(CACHEABLE_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                html = headers.get("content-type", "").startswith("text/html")
                headers.setdefault("Content-Security-Policy", HTML_CSP if html else API_CSP)
                if no_store:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_security_headers(app: FastAPI) -> None:
    app.add_middleware(SecurityHeadersMiddleware)
