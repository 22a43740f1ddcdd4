"""Running the API under uvicorn with a graceful stop. SIGTERM first drains for SHUTDOWN_DRAIN_S (still
serving, `/ready` 503, `Connection: close` on responses: recon.observability.drain), then stops accepting
connections, lets in-flight requests finish (up to SHUTDOWN_TIMEOUT_S), runs the lifespan shutdown (embedded
worker stopped and its unfinished jobs released, metrics server closed, engine disposed) and exits with
status 0. SIGINT (Ctrl-C) and a second SIGTERM skip the drain.

uvicorn itself re-raises the caught signal after its graceful shutdown, so the process would end "killed by
SIGTERM" (143) although it stopped cleanly; orchestrators and supervisors read that as a crash.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import structlog
import uvicorn
from starlette.types import ASGIApp
from uvicorn.server import HANDLED_SIGNALS

from recon.config import Settings
from recon.observability import drain

log = structlog.get_logger("recon.serve")
STARTUP_FAILURE = 3


# Longer than the idle timeouts of the proxies in front (nginx upstream keepalive 60 s, Traefik 90 s): the
# proxy, not uvicorn, closes an idle connection, so it never sends a request on one closed under it.
KEEPALIVE_S = 100


def create_served_app() -> ASGIApp:
    """The uvicorn factory: the application behind the drain's `Connection: close` wrapper."""
    from recon.app import create_app

    return drain.CloseConnectionsWhileDraining(create_app())


class GracefulServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, drain_s: float = 0.0) -> None:
        super().__init__(config)
        self.drain_s = drain_s
        self.drain_timer: threading.Timer | None = None

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in HANDLED_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.should_exit and self.drain_timer is None:
            log.info("shutdown_requested", signal=signal.Signals(sig).name, drain_s=self.drain_s)
            if sig == signal.SIGTERM and self.drain_s > 0:
                drain.begin()
                self.drain_timer = threading.Timer(self.drain_s, self.stop_after_drain)
                self.drain_timer.daemon = True
                self.drain_timer.start()
                return
        if self.drain_timer is not None:
            self.drain_timer.cancel()
        super().handle_exit(sig, frame)

    def stop_after_drain(self) -> None:
        log.info("drain_finished", drain_s=self.drain_s)
        self.should_exit = True  # uvicorn's main loop checks it every 0.1 s


def uvicorn_config(
    settings: Settings,
    host: str,
    port: int,
    factory: Any = "recon.observability.serving:create_served_app",
) -> uvicorn.Config:
    """How `recon serve` runs uvicorn. X-Forwarded-For / -Proto are honoured only from FORWARDED_ALLOW_IPS
    (default: none), so a client cannot choose its own address for the per-IP limits."""
    forwarded = settings.forwarded_allow_ips.strip()
    return uvicorn.Config(
        factory,  # the app is built after uvicorn configured its loggers (as `uvicorn --factory` does)
        factory=True,
        host=host,
        port=port,
        log_config=None,  # our structlog setup formats uvicorn's loggers
        access_log=False,  # the request-context middleware logs each request with its request id
        timeout_graceful_shutdown=settings.shutdown_timeout_s,
        timeout_keep_alive=KEEPALIVE_S,
        proxy_headers=bool(forwarded),
        forwarded_allow_ips=forwarded or None,
        # Header lines past this are refused by the HTTP parser itself; the request guard's 431 covers the
        # total below it.
        h11_max_incomplete_event_size=settings.request_max_header_bytes,
        lifespan="on",  # a lifespan failure (metrics port taken, ...) stops the process instead of serving
    )


def serve_api(settings: Settings, host: str, port: int) -> None:
    """Serve `recon.app:create_app` until a signal stops it; exits with status 3 when startup fails."""
    server = GracefulServer(uvicorn_config(settings, host, port), drain_s=settings.shutdown_drain_s)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
