"""What a running task sees: its job, its own sessions, progress, heartbeat and cancellation."""

from __future__ import annotations

import threading
import time
from typing import Any

import structlog
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from recon.config import Settings, get_settings
from recon.core.db import SessionFactory, session_scope
from recon.jobs import queue
from recon.jobs.errors import JobCancelled, JobOverLimit, LeaseLost, WorkerStopping

log = structlog.get_logger("recon.jobs")

# How often check_cancelled() may ask the database (between heartbeats).
CANCEL_CHECK_INTERVAL_S = 1.0


def over_time_message(timeout_s: float) -> str:
    return f"the job ran past its wall-time cap of {timeout_s:g} s (setting JOB_TIMEOUT_S)"


def over_memory_message(max_bytes: int) -> str:
    return f"the job went past its memory cap of {max_bytes // 2**20:,} MiB (setting JOB_MEMORY_MAX_BYTES)"


class JobContext:
    """Handed to every task as its first argument.

    - `ctx.settings`: the worker's Settings (object store, data dir).
    - `ctx.session_factory()`: a new Session for the task's own transactions (use `session_scope`).
    - `ctx.progress(fraction, message)`: visible to the API at once; also renews the lease.
    - `ctx.check_cancelled()`: raises JobCancelled (cancel requested), WorkerStopping (shutdown: the job is
      released and resumed later) or LeaseLost (another worker owns the job now). Call it between steps.
    - `ctx.finish_in(session)`: mark the job succeeded inside the task's final transaction, so effects and
      completion commit together (exactly once, even if the process dies right after the commit).

    On SQLite do not call `progress` while your own session holds uncommitted writes: SQLite has one writer,
    and the progress update would wait for your transaction.
    """

    def __init__(
        self,
        lease: queue.Lease,
        session_factory: SessionFactory,
        *,
        lease_s: float,
        stopping: threading.Event,
        settings: Settings | None = None,
        deadline: float | None = None,
    ) -> None:
        self.lease = lease
        # The lease is frozen: its fields, read by every task, are copied once.
        self.job_id, self.attempt, self.kind = lease.job_id, lease.attempt, lease.kind
        self.project_id: str | None = lease.project_id
        self.payload: dict[str, Any] = lease.payload
        # time.monotonic() past which the job fails (its wall-time cap); None: no cap.
        self.deadline = deadline
        # The worker's settings (storage, data dir); tasks fall back to the environment's when None.
        self.settings = settings if settings is not None else get_settings()
        self.session_factory = session_factory
        self.lease_s = lease_s
        self._stopping = stopping
        self._cancel_requested = threading.Event()
        self._lost = threading.Event()
        self._last_check = time.monotonic()
        self.finished_in_task = False

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_requested.is_set()

    def note_state(self, state: queue.LeaseState) -> None:
        """Record what the database said about this lease (heartbeat, progress, checks)."""
        if not state.alive:
            self._lost.set()
        if state.cancel_requested:
            self._cancel_requested.set()
        self._last_check = time.monotonic()

    def progress(self, fraction: float, message: str | None = None) -> None:
        """Report progress (0..1) and an optional human message. Best effort: a busy database is logged."""
        try:
            with session_scope(self.session_factory) as session:
                self.note_state(queue.set_progress(session, self.lease, fraction, message))
        except OperationalError as exc:
            log.warning("job_progress_not_saved", job_id=self.job_id, error=str(exc).splitlines()[0][:200])

    def heartbeat(self) -> None:
        """Renew the lease now (the worker also does so in the background); raises LeaseLost if gone."""
        with session_scope(self.session_factory) as session:
            self.note_state(queue.renew(session, self.lease, self.lease_s))
        if self.lost:
            raise LeaseLost(f"job {self.job_id} attempt {self.attempt} lost its lease")

    def check_cancelled(self) -> None:
        settled = self._cancel_requested.is_set() or self._lost.is_set()
        if not settled and time.monotonic() - self._last_check >= CANCEL_CHECK_INTERVAL_S:
            with session_scope(self.session_factory) as session:
                self.note_state(queue.read_state(session, self.lease))
        if self._lost.is_set():
            raise LeaseLost(f"job {self.job_id} attempt {self.attempt} lost its lease")
        if self._cancel_requested.is_set():
            raise JobCancelled(f"job {self.job_id} was cancelled")
        if self._stopping.is_set():
            raise WorkerStopping(f"worker stopping; job {self.job_id} goes back to the queue")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise JobOverLimit(over_time_message(self.settings.job_timeout_s))

    def finish_in(
        self, session: Session, result: dict[str, Any] | None = None, message: str | None = None
    ) -> None:
        """Mark the job succeeded in `session`'s transaction (commits with the task's effects). Raises
        LeaseLost, so the caller's transaction rolls back, when this attempt no longer owns the job."""
        if not queue.mark_succeeded(session, self.lease, result, message):
            self._lost.set()
            raise LeaseLost(f"job {self.job_id} attempt {self.attempt} lost its lease; effects rolled back")
        self.finished_in_task = True
