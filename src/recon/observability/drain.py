"""Draining before a stop (SIGTERM to `recon serve`): for SHUTDOWN_DRAIN_S the process keeps serving every
request, old and new, while `/ready` answers 503 and each response asks the client to close its connection.
Load balancers and proxies (Kubernetes endpoints, the ingress, nginx upstream keepalive pools) stop sending
traffic to this replica in that time; only then does the server stop accepting connections. Without the pause,
requests already routed here meet a closed port or a keepalive connection closed under them (502s).

The state is per process (one uvicorn server per process), set only by the signal handler of
`recon.observability.serving`.
"""

from __future__ import annotations

import threading

from starlette.types import Message, Receive, Scope, Send

from recon.core.asgi import HttpMiddleware

_draining = threading.Event()


def begin() -> None:
    _draining.set()


def active() -> bool:
    return _draining.is_set()


class CloseConnectionsWhileDraining(HttpMiddleware):
    """ASGI wrapper: while draining, every HTTP response carries `Connection: close`, so keepalive clients
    (the proxy in front) open their next connection elsewhere instead of reusing one about to be closed."""

    def applies(self) -> bool:
        return _draining.is_set()

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, send_closing)
