"""The worker loop, shared by the embedded mode (threads in the API process) and `recon worker`.

N threads lease and run jobs; one heartbeat thread renews the leases of the running jobs (and learns about
cancellations) and reclaims jobs whose worker died. A commit that enqueued a job wakes the threads at once
(in-process); other processes find it by polling.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Sequence
from typing import Any, Literal

import structlog
from sqlalchemy.exc import SQLAlchemyError

from recon.config import Settings, get_settings
from recon.core.db import SessionFactory, session_scope
from recon.jobs import queue
from recon.jobs.context import JobContext, over_memory_message
from recon.jobs.errors import JobCancelled, JobFailed, LeaseLost, WorkerStopping, public_error
from recon.jobs.registry import get_task, import_task_modules, registered_kinds

log = structlog.get_logger("recon.worker")


def invoke(ctx: JobContext, session_factory: SessionFactory) -> str:
    """Run the leased job's task in the calling thread and write its outcome (fenced by the lease); the
    same in a worker thread and in a job's child process. Returns the outcome's name."""
    lease = ctx.lease
    spec = get_task(lease.kind)
    try:
        if spec is None:
            raise JobFailed(f"no task named {lease.kind!r} in this worker")
        result = spec.fn(ctx, **lease.payload)
    except WorkerStopping:
        return "released" if queue.release(session_factory, lease) else "lease_lost"
    except LeaseLost:
        return "lease_lost"
    except JobCancelled:
        return "cancelled" if queue.mark_cancelled(session_factory, lease) else "lease_lost"
    except MemoryError:  # the child's RLIMIT_DATA: what the job allocated is freed by now
        message = over_memory_message(ctx.settings.job_memory_max_bytes)
        log.warning("job_over_memory_cap", error=message)
        status = queue.finish_with_error(
            session_factory, lease, message, permanent=True, cancel_requested=False
        )
        return status.value if status else "lease_lost"
    except Exception as exc:
        permanent = isinstance(exc, JobFailed)
        if permanent:
            log.warning("job_failed_permanently", error=_describe(exc))
            # A JobFailed's text is the reason users read (bad input, a cap): stored as raised, no class name.
            error = str(exc).strip() or "the job failed"
        else:  # the raw text goes to the log only
            log.error("job_attempt_failed", error=_describe(exc), traceback=traceback.format_exc())
            error = public_error(exc, lease.job_id)
        status = queue.finish_with_error(
            session_factory,
            lease,
            error,
            permanent=permanent,
            cancel_requested=ctx.cancel_requested,
        )
        return status.value if status else "lease_lost"
    if ctx.finished_in_task:
        return "succeeded"
    stored = _json_result(result)
    with session_scope(session_factory) as session:
        done = queue.mark_succeeded(session, lease, stored, None)
    return "succeeded" if done else "lease_lost"


def _json_result(result: Any) -> dict[str, Any] | None:
    if result is None:
        return None
    if isinstance(result, dict):
        try:
            json.dumps(result, allow_nan=False)
            return result
        except (TypeError, ValueError):
            pass
    log.warning("job_result_not_stored", reason="a task result must be a JSON object")
    return None


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class WorkerRunner:
    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        concurrency: int = 2,
        lease_s: float = 60.0,
        poll_interval_s: float = 1.0,
        kinds: Sequence[str] | None = None,
        worker_id: str | None = None,
        extra_task_modules: Sequence[str] = (),
        settings: Settings | None = None,
        isolation: Literal["thread", "process"] = "thread",
        max_running_per_project: int | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.isolation = isolation
        # None: no per-project cap (lease order still prefers projects with fewer running jobs).
        self.max_running_per_project = max_running_per_project
        self.session_factory = session_factory
        self.settings = settings
        self.concurrency = concurrency
        self.lease_s = lease_s
        self.poll_interval_s = poll_interval_s
        self.worker_id = worker_id or default_worker_id()
        import_task_modules(tuple(extra_task_modules))  # the built-in ones load when their first job runs
        self.kinds = list(kinds) if kinds is not None else registered_kinds()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._heartbeat_stop = threading.Event()
        self._active: dict[str, JobContext] = {}
        self._active_lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> None:
        queue.add_wakeup_listener(self.wake)
        if self.isolation == "process":
            from recon.worker.child import start_forkserver

            threading.Thread(target=start_forkserver, name="recon-forkserver-start", daemon=True).start()
        for index in range(self.concurrency):
            thread = threading.Thread(target=self._loop, name=f"recon-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        beat = threading.Thread(target=self._heartbeat_loop, name="recon-worker-heartbeat", daemon=True)
        beat.start()
        self._threads.append(beat)
        if self.settings is not None and self.settings.scheduler_tick_s > 0:
            tick = threading.Thread(target=self._tick_loop, name="recon-worker-tick", daemon=True)
            tick.start()
            self._threads.append(tick)
        log.info("worker_started", worker_id=self.worker_id, concurrency=self.concurrency, kinds=self.kinds)

    def wake(self) -> None:
        self._wake.set()

    def stop(self, grace_s: float = 20.0) -> None:
        """Stop leasing; running tasks get `grace_s` to finish (tasks calling check_cancelled() are released
        at once). Jobs still running after that go back to the queue without counting the attempt."""
        self._stopping.set()
        self._wake.set()
        queue.remove_wakeup_listener(self.wake)
        deadline = time.monotonic() + grace_s
        for thread in self._threads[: self.concurrency]:
            thread.join(max(deadline - time.monotonic(), 0))
        with self._active_lock:
            leftovers = list(self._active.values())
        for ctx in leftovers:
            ctx.note_state(queue.LeaseState(alive=False, cancel_requested=False))  # its later writes are moot
            if queue.release(self.session_factory, ctx.lease):
                log.warning("job_released_unfinished", job_id=ctx.job_id, kind=ctx.kind)
        self._heartbeat_stop.set()
        for thread in self._threads[self.concurrency :]:
            thread.join(5)
        log.info("worker_stopped", worker_id=self.worker_id, released=len(leftovers))

    @property
    def busy(self) -> int:
        with self._active_lock:
            return len(self._active)

    # -- leasing and running ------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            while not self._stopping.is_set() and self.run_one():
                pass
            self._wake.wait(self.poll_interval_s)

    def run_one(self) -> bool:
        """Lease and run one due job in the calling thread; False when none was due."""
        try:
            lease = queue.lease_next(
                self.session_factory,
                self.worker_id,
                self.kinds,
                self.lease_s,
                max_running_per_project=self.max_running_per_project,
            )
        except SQLAlchemyError as exc:
            log.error("job_lease_failed", error=str(exc).splitlines()[0][:300])
            return False
        if lease is None:
            return False
        self._execute(lease)
        return True

    def run_until_idle(self, max_jobs: int = 1000) -> int:
        """Run due jobs in the calling thread until none is left (tests, one-shot use)."""
        count = 0
        while count < max_jobs and self.run_one():
            count += 1
        return count

    def _execute(self, lease: queue.Lease) -> None:
        settings = self.settings if self.settings is not None else get_settings()
        ctx = JobContext(
            lease,
            self.session_factory,
            lease_s=self.lease_s,
            stopping=self._stopping,
            settings=settings,
            deadline=time.monotonic() + settings.job_timeout_s,
        )
        with self._active_lock:
            self._active[lease.job_id] = ctx
        structlog.contextvars.bind_contextvars(
            job_id=lease.job_id, job_kind=lease.kind, project_id=lease.project_id
        )
        started = time.monotonic()
        log.info("job_started", attempt=lease.attempt, max_attempts=lease.max_attempts)
        try:
            if self.isolation == "process":
                from recon.worker.child import supervise

                outcome = supervise(ctx, self.session_factory, self._stopping)
            else:
                outcome = invoke(ctx, self.session_factory)
            log.info("job_finished", outcome=outcome, duration_s=round(time.monotonic() - started, 3))
        except Exception as exc:  # bookkeeping failed (database down): the lease will expire and retry
            log.error("job_bookkeeping_failed", error=_describe(exc))
        finally:
            with self._active_lock:
                self._active.pop(lease.job_id, None)
            structlog.contextvars.unbind_contextvars("job_id", "job_kind", "project_id")

    def _tick_loop(self) -> None:
        """Feeds and schedules (recon.schedules.tick), every SCHEDULER_TICK_S, first one tick after start."""
        assert self.settings is not None
        from recon.schedules.tick import run_tick

        while not self._heartbeat_stop.wait(self.settings.scheduler_tick_s):
            try:
                run_tick(self.session_factory, self.settings)
            except Exception as exc:  # database down: the next tick tries again
                log.warning("worker_tick_failed", error=_describe(exc))

    # -- heartbeats and reclaiming ------------------------------------------------------------------------
    def _heartbeat_loop(self) -> None:
        interval = max(self.lease_s / 3, 0.05)
        while not self._heartbeat_stop.is_set():
            self.heartbeat_once()
            self._heartbeat_stop.wait(interval)

    def heartbeat_once(self) -> None:
        with self._active_lock:
            running = list(self._active.values())
        try:
            if running:
                with session_scope(self.session_factory) as session:
                    for ctx in running:
                        ctx.note_state(queue.renew(session, ctx.lease, self.lease_s))
            reclaimed = queue.reclaim_expired(self.session_factory, self.worker_id, self.kinds)
        except SQLAlchemyError as exc:
            log.warning("job_heartbeat_failed", error=str(exc).splitlines()[0][:300])
            return
        if reclaimed:
            self.wake()
