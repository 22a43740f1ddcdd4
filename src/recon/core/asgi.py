"""The shape every HTTP middleware of the app shares: other ASGI traffic (lifespan, websockets) passes
through untouched; HTTP requests go to `http`."""

from __future__ import annotations

from abc import ABC, abstractmethod

from starlette.types import ASGIApp, Receive, Scope, Send


class HttpMiddleware(ABC):
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.applies():
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    def applies(self) -> bool:
        """False: pass every request through (a middleware that is switched off for now)."""
        return True

    @abstractmethod
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request (call `self.app` to pass it on)."""
