"""`recon worker`: the production worker process (same loop as the embedded runner, SIGTERM-graceful)."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import structlog
import typer

log = structlog.get_logger("recon.worker")


def worker(
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", "-c", min=1, help="Worker threads (default WORKER_CONCURRENCY)."),
    ] = None,
    import_modules: Annotated[
        list[str] | None,
        typer.Option("--import", help="Also import this module to register its tasks (repeatable)."),
    ] = None,
) -> None:
    """Run jobs from the database queue until SIGTERM/SIGINT; then finish or release the running jobs."""
    from recon.cli.platform_cmds import load_settings
    from recon.core.db import create_db_engine, create_session_factory
    from recon.jobs.registry import load_task_modules
    from recon.observability import tracing
    from recon.observability.logging import configure_logging_from
    from recon.worker.embedded import runner_from_settings

    settings = load_settings()
    configure_logging_from(settings)
    engine = create_db_engine(settings)
    tracer_provider = tracing.start_worker_tracing(settings, engine)  # service "recon-worker" when configured
    try:
        load_task_modules()  # a dedicated worker fails at start, not at its first job, on a broken module
        runner = runner_from_settings(
            settings,
            create_session_factory(engine),
            concurrency=concurrency,
            extra_task_modules=tuple(import_modules or ()),
        )
    except ImportError as exc:
        engine.dispose()
        typer.echo(f"error: cannot import a task module: {exc}", err=True)
        raise typer.Exit(2) from None
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("worker_stop_requested", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    runner.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        runner.stop(grace_s=settings.shutdown_timeout_s)
        if tracer_provider is not None:
            tracing.shutdown(tracer_provider)
        engine.dispose()
