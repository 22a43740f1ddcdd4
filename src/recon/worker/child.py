"""Process isolation: a leased job runs in a child process the worker can kill (JOB_ISOLATION=process).

The worker thread that leased the job starts a child from a forkserver (a small, clean process that forks
children quickly; the serving process never imports the data stack), then watches it: the heartbeat thread
keeps renewing the lease and learning of cancellations, and the watcher kills the child when the job is
cancelled, its lease is lost, or it runs past JOB_TIMEOUT_S. The child runs the task exactly as a worker
thread would (`invoke`), with its own database engine and RLIMIT_DATA = JOB_MEMORY_MAX_BYTES; all its writes
are fenced by the lease token, so a killed child can leave nothing half-written behind.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import resource
import signal
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.context import ForkServerContext, ForkServerProcess, set_spawning_popen
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.exc import SQLAlchemyError

from recon.config import Settings
from recon.jobs import queue
from recon.jobs.context import CANCEL_CHECK_INTERVAL_S, JobContext, over_time_message
from recon.jobs.registry import registered_task_modules

if TYPE_CHECKING:
    from recon.core.db import SessionFactory

log = structlog.get_logger("recon.worker")

# A cancelled or stopping child gets this long to end on its own (its check_cancelled) before it is killed.
GRACE_S = 2.0
_WATCH_S = 0.1
# Loaded once in the forkserver (not in the serving process), so each job's fork starts warm.
_PRELOAD = (
    "recon.worker.child",
    "recon.worker.runner",
    "recon.core.db",
    "recon.models",
    "recon.observability.logging",
    "recon.datasets.tasks",
    "recon.runs.tasks",
    "recon.exports.tasks",
    # The run's data stack (pyarrow, numpy, DuckDB, the engine), which `recon.runs.tasks` imports only when
    # a run executes: ~2 s of wall (0.7 s CPU) per run at load 10 when each child imported it after its
    # fork (docs/adr/0016). Importing starts no thread, so forking after it is safe; a process without the
    # data stack skips it (the forkserver ignores a preload's ImportError).
    "recon.runs.execute",
    "recon.runs.outcome",
    "recon.runs.persist",
)
_context_lock = threading.Lock()
_context: ForkServerContext | None = None


def _forkserver() -> ForkServerContext:
    global _context  # noqa: PLW0603 - one forkserver per process, started on the first isolated job
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            # What every job needs, loaded once in the forkserver (not in the serving process).
            context.set_forkserver_preload([*_PRELOAD])
            _context = context
        return _context


class _NoMainPopen(popen_forkserver.Popen):
    """Starts a forkserver child without the main-module preparation: by default every child imports the
    parent's `__main__` script again (the CLI, a bench, pytest) before running its target, which cost
    ~1 s per job (the forkserver's "__main__" preload cannot help: Python 3.11 never passes it the path).
    A job's child needs only its task modules, which it imports by name (`_ChildJob.modules`); tasks
    defined in a `__main__` script are therefore not runnable in process isolation.
    The body is CPython's `_launch` (3.11-3.13) with the two main-module keys dropped."""

    def _launch(self, process_obj: Any) -> None:
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_path", None)
        prep_data.pop("init_main_from_name", None)
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)  # type: ignore[attr-defined]
        _parent_w = os.dup(w)  # the child's sentinel of this parent, as in CPython
        self.finalizer = util.Finalize(self, util.close_fds, (_parent_w, self.sentinel))  # type: ignore[attr-defined]
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _JobProcess(ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> _NoMainPopen:  # the name multiprocessing calls
        return _NoMainPopen(process_obj)


def start_forkserver() -> None:
    """Start the forkserver with its preload and fork one empty child through it, so the first job starts
    warm. The worker calls this in a background thread when it starts: it delays neither `/ready` nor the
    first job (which, arriving sooner, waits on the forkserver's lock instead of starting another)."""
    started = time.monotonic()
    _forkserver()
    try:
        warmup = _JobProcess(target=os.getpid, name="recon-job-warmup", daemon=True)
        warmup.start()
        warmup.join(120)
    except OSError as exc:  # no room for another process now: the first job starts it (and says why)
        log.warning("job_forkserver_start_failed", error=str(exc))
        return
    log.info("job_forkserver_started", start_s=round(time.monotonic() - started, 3))


def _engine_settings(settings: Settings) -> Settings:
    """The child's settings: without an engine memory limit (ENGINE_MEMORY_LIMIT, or a share of the
    container's limit), DuckDB gets half the memory cap, so it spills to disk before the cap turns its
    allocations into errors."""
    from recon.core.resources import engine_memory_limit

    if engine_memory_limit(settings) is not None:
        return settings
    half = settings.job_memory_max_bytes // 2 // 2**20
    return settings.model_copy(update={"engine_memory_limit": f"{half}MiB"})


def _exit_with(worker_pid: int) -> None:
    """A child never outlives its worker (SIGKILLed, OOM-killed): its lease then expires and another worker
    retries the job, so this one must stop writing and free the database at once."""
    while True:
        time.sleep(0.25)
        try:
            os.kill(worker_pid, 0)
        except ProcessLookupError:
            os._exit(70)


@dataclass(frozen=True)
class _ChildJob:
    """What one job's process needs (pickled to the forkserver)."""

    settings: Settings
    lease: queue.Lease
    lease_s: float
    modules: tuple[str, ...]
    deadline_s: float
    worker_pid: int
    sys_path: tuple[str, ...]  # the worker's: task modules outside the package (e.g. a test's) import too
    started_at: float  # the worker's time.time() when it started the child (start cost in the log)


def _child_main(job: _ChildJob) -> None:
    """The child: caps, its own engine, the task. Its outcome is written to the database (fenced)."""
    settings, lease = job.settings, job.lease
    forked_s = time.time() - job.started_at
    threading.Thread(target=_exit_with, args=(job.worker_pid,), daemon=True).start()
    cap = settings.job_memory_max_bytes
    resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())  # graceful stop: released at the next check
    from recon.core.db import create_db_engine, create_session_factory
    from recon.jobs.registry import import_task_modules
    from recon.observability.logging import configure_logging_from
    from recon.worker.runner import invoke

    configure_logging_from(settings)
    sys.path[:0] = [entry for entry in job.sys_path if entry not in sys.path]
    import_task_modules(job.modules)
    engine = create_db_engine(settings)
    try:
        factory = create_session_factory(engine)
        ctx = JobContext(
            lease,
            factory,
            lease_s=job.lease_s,
            stopping=stopping,
            settings=settings,
            deadline=time.monotonic() + job.deadline_s,
        )
        structlog.contextvars.bind_contextvars(job_id=lease.job_id, job_kind=lease.kind, pid=os.getpid())
        ready_s = time.time() - job.started_at
        outcome = invoke(ctx, factory)
        log.info(
            "job_child_finished",
            outcome=outcome,
            forked_s=round(forked_s, 3),
            ready_s=round(ready_s, 3),
            total_s=round(time.time() - job.started_at, 3),
        )
    finally:
        engine.dispose()


def supervise(ctx: JobContext, session_factory: SessionFactory, stopping: threading.Event) -> str:
    """Run the job in a child process and watch it; returns the outcome's name."""
    settings = ctx.settings
    started = time.monotonic()
    remaining = max((ctx.deadline or started + settings.job_timeout_s) - started, 0.0)
    _forkserver()
    child = _JobProcess(
        target=_child_main,
        args=(
            _ChildJob(
                _engine_settings(settings),
                ctx.lease,
                ctx.lease_s,
                registered_task_modules(),
                remaining,
                os.getpid(),
                tuple(sys.path),
                time.time(),
            ),
        ),
        name=f"recon-job-{ctx.job_id}",
        daemon=True,
    )
    child.start()
    log.info("job_child_started", pid=child.pid, start_s=round(time.monotonic() - started, 3))
    asked_at: float | None = None  # when the child was asked to end (cancel, stop); killed after GRACE_S
    checked = started
    while True:
        child.join(_WATCH_S)
        if not child.is_alive():
            break
        now = time.monotonic()
        if now - checked >= CANCEL_CHECK_INTERVAL_S:  # a cancel acts within a second, not a heartbeat
            checked = now
            _note_state(ctx, session_factory)
        if now > started + remaining:
            _kill(child)
            return _fail_over_time(ctx, session_factory)
        if ctx.lost:  # another worker owns the job now, or the child just made it final: let it exit
            child.join(GRACE_S)
            if child.is_alive():
                _kill(child)
            return "ended_in_child"
        if ctx.cancel_requested or stopping.is_set():
            if asked_at is None:
                asked_at = now
                if stopping.is_set():
                    child.terminate()  # SIGTERM: the child releases the job at its next check
            elif now - asked_at > GRACE_S:
                _kill(child)
                if stopping.is_set() and not ctx.cancel_requested:
                    return "released" if queue.release(session_factory, ctx.lease) else "lease_lost"
                return "cancelled" if queue.mark_cancelled(session_factory, ctx.lease) else "lease_lost"
    return _after_exit(ctx, session_factory, child.exitcode)


def _note_state(ctx: JobContext, session_factory: SessionFactory) -> None:
    from recon.core.db import session_scope

    try:
        with session_scope(session_factory) as session:
            ctx.note_state(queue.read_state(session, ctx.lease))
    except SQLAlchemyError as exc:  # a busy database: the heartbeat thread tries again
        log.warning("job_state_read_failed", error=str(exc).splitlines()[0][:200])


def _kill(child: Any) -> None:
    child.kill()
    child.join(5)


def _fail_over_time(ctx: JobContext, session_factory: SessionFactory) -> str:
    message = over_time_message(ctx.settings.job_timeout_s)
    log.warning("job_over_time_cap", error=message)
    status = queue.finish_with_error(
        session_factory, ctx.lease, message, permanent=True, cancel_requested=ctx.cancel_requested
    )
    return status.value if status else "lease_lost"


def _after_exit(ctx: JobContext, session_factory: SessionFactory, exitcode: int | None) -> str:
    """The child ended: it wrote its outcome, unless it died (killed by the kernel, crashed)."""
    from recon.core.db import session_scope

    with session_scope(session_factory) as session:
        state = queue.read_state(session, ctx.lease)
    if not state.alive:
        return "finished_in_child"
    how = f"signal {-exitcode}" if exitcode is not None and exitcode < 0 else f"exit code {exitcode}"
    message = f"the job's process ended without an outcome ({how}; the memory cap may have been reached)"
    log.error("job_child_died", exitcode=exitcode)
    status = queue.finish_with_error(
        session_factory, ctx.lease, message, permanent=False, cancel_requested=state.cancel_requested
    )
    return status.value if status else "lease_lost"
