"""Running the API under uvicorn with a graceful stop: SIGTERM (or SIGINT) stops accepting connections, lets
in-flight requests finish (up to SHUTDOWN_TIMEOUT_S), then runs the lifespan shutdown (embedded worker
stopped and its unfinished jobs released, metrics server closed, engine disposed) and exits with status 0.

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

import structlog
import uvicorn
from uvicorn.server import HANDLED_SIGNALS

from recon.config import Settings

log = structlog.get_logger("recon.serve")
STARTUP_FAILURE = 3


class GracefulServer(uvicorn.Server):
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
        if not self.should_exit:
            log.info("shutdown_requested", signal=signal.Signals(sig).name)
        super().handle_exit(sig, frame)


def serve_api(settings: Settings, host: str, port: int) -> None:
    """Serve `recon.app:create_app` until a signal stops it; exits with status 3 when startup fails."""
    config = uvicorn.Config(
        "recon.app:create_app",
        factory=True,
        host=host,
        port=port,
        log_config=None,  # our structlog setup formats uvicorn's loggers
        access_log=False,  # the request-context middleware logs each request with its request id
        timeout_graceful_shutdown=settings.shutdown_timeout_s,
        proxy_headers=True,
        lifespan="on",  # a lifespan failure (metrics port taken, ...) stops the process instead of serving
    )
    server = GracefulServer(config)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
