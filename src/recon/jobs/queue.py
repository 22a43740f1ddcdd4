"""The job table as a queue: enqueue in the caller's transaction, lease, heartbeat, finish, retry, reclaim.

Every write made on behalf of a running attempt is fenced by its lease token (`leased_by`, unique per lease)
and `status = 'running'`: once a lease expired and the job was reclaimed, the old attempt can change nothing.
Leasing is one UPDATE whose target is chosen by `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL (concurrent
workers never block on or take the same row); SQLite has one writer at a time, so the same statement is
atomic there. Timestamps come from the workers' clocks (UTC), which must be roughly in sync (NTP).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Update, event, func, select, update
from sqlalchemy.orm import Session, aliased

from recon.core.db import SessionFactory, session_scope
from recon.core.repository import updated_rows
from recon.core.time import utcnow
from recon.jobs.registry import FinalHook, TaskSpec, get_task, registered_kinds
from recon.models.jobs import Job, JobStatus

log = structlog.get_logger("recon.jobs")

MAX_ERROR_CHARS = 4000
_ENQUEUED = "recon.jobs.enqueued"

# -- wake-up after commit -------------------------------------------------------------------------------
_listeners: list[Callable[[], None]] = []
_listeners_lock = threading.Lock()


def add_wakeup_listener(callback: Callable[[], None]) -> None:
    """`callback()` runs after any session that enqueued a job commits (the embedded runner's wake-up)."""
    with _listeners_lock:
        _listeners.append(callback)


def remove_wakeup_listener(callback: Callable[[], None]) -> None:
    with _listeners_lock:
        if callback in _listeners:
            _listeners.remove(callback)


def _after_commit(session: Session) -> None:
    if session.info.pop(_ENQUEUED, False):
        with _listeners_lock:
            callbacks = list(_listeners)
        for callback in callbacks:
            callback()


def _after_rollback(session: Session) -> None:
    session.info.pop(_ENQUEUED, None)


event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_rollback", _after_rollback)


# -- enqueue ----------------------------------------------------------------------------------------------
def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    project_id: str | None = None,
    created_by: str | None = None,
    max_attempts: int | None = None,
    run_after: dt.datetime | None = None,
) -> Job:
    """Add a queued job in the caller's transaction: it becomes visible to workers (and wakes the embedded
    runner) only when that transaction commits. Raises ValueError for an unknown kind or a payload that is
    not JSON or does not fit the task's parameters."""
    spec = get_task(kind)
    if spec is None:
        raise ValueError(f"unknown job kind {kind!r}; registered: {', '.join(registered_kinds()) or 'none'}")
    payload = dict(payload or {})
    try:
        json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"job payload of {kind!r} is not plain JSON: {exc}") from None
    spec.check_payload(payload)
    job = Job(
        kind=kind,
        project_id=project_id,
        payload=payload,
        status=JobStatus.QUEUED,
        max_attempts=max_attempts or spec.max_attempts,
        run_after=run_after or utcnow(),
        created_by=created_by,
    )
    session.add(job)
    session.flush()
    session.info[_ENQUEUED] = True
    return job


# -- leases -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lease:
    """A worker's hold on one attempt of a job."""

    job_id: str
    token: str
    kind: str
    payload: dict[str, Any]
    project_id: str | None
    attempt: int
    max_attempts: int


def _fenced(lease: Lease) -> Update:
    return update(Job).where(
        Job.id == lease.job_id, Job.leased_by == lease.token, Job.status == JobStatus.RUNNING
    )


# One key for "a worker is choosing a job" (PostgreSQL advisory lock, released at commit).
_LEASE_LOCK_KEY = 0x7265636F6E  # "recon"


def lease_next(
    factory: SessionFactory,
    worker_id: str,
    kinds: Sequence[str],
    lease_s: float,
    *,
    max_running_per_project: int | None = None,
) -> Lease | None:
    """Take a due queued job of `kinds`, or None when there is none.

    Fair share between projects: jobs of projects with the fewest running jobs come first (oldest first
    among those), and with `max_running_per_project` a project that already runs that many jobs waits, so
    one tenant's heavy jobs never take every slot. The cap holds whatever the concurrency: on PostgreSQL
    lease decisions are serialised by a transaction-level advisory lock (two workers leasing at the same
    instant would otherwise both count the same running jobs); on SQLite the write lock does it."""
    if not kinds:
        return None
    now = utcnow()
    due = (Job.status == JobStatus.QUEUED) & (Job.run_after <= now) & Job.kind.in_(kinds)
    other = aliased(Job)
    running = (
        select(func.count(other.id))
        .where(other.status == JobStatus.RUNNING, other.project_id == Job.project_id)
        .correlate(Job)
        .scalar_subquery()
    )
    if max_running_per_project is not None:
        due = due & (Job.project_id.is_(None) | (running < max_running_per_project))
    with session_scope(factory) as session:
        # A plain read first: an empty queue costs no write lock (SQLite) and no row locks.
        if session.scalar(select(Job.id).where(due).limit(1)) is None:
            return None
        if max_running_per_project is not None and session.get_bind().dialect.name == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(_LEASE_LOCK_KEY)))
        candidate = (
            select(Job.id)
            .where(due)
            .order_by(running, Job.run_after, Job.created_at, Job.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        token = f"{worker_id}/{uuid.uuid4().hex[:12]}"
        row = session.execute(
            update(Job)
            .where(Job.id == candidate, Job.status == JobStatus.QUEUED)
            .values(
                status=JobStatus.RUNNING,
                leased_by=token,
                lease_expires_at=now + dt.timedelta(seconds=lease_s),
                heartbeat_at=now,
                started_at=func.coalesce(Job.started_at, now),
                attempts=Job.attempts + 1,
            )
            .returning(Job.id, Job.kind, Job.payload, Job.project_id, Job.attempts, Job.max_attempts)
            .execution_options(synchronize_session=False)
        ).first()
        if row is None:
            return None
        return Lease(
            row.id, token, row.kind, dict(row.payload or {}), row.project_id, row.attempts, row.max_attempts
        )


@dataclass(frozen=True)
class LeaseState:
    alive: bool
    cancel_requested: bool


def renew(session: Session, lease: Lease, lease_s: float) -> LeaseState:
    """Extend the lease (heartbeat) and report whether cancellation was requested."""
    now = utcnow()
    return _touch(
        session, lease, {"heartbeat_at": now, "lease_expires_at": now + dt.timedelta(seconds=lease_s)}
    )


def set_progress(session: Session, lease: Lease, fraction: float, message: str | None) -> LeaseState:
    values: dict[str, Any] = {"progress": min(max(float(fraction), 0.0), 1.0), "heartbeat_at": utcnow()}
    if message is not None:
        values["message"] = message[:2000]
    return _touch(session, lease, values)


def _touch(session: Session, lease: Lease, values: dict[str, Any]) -> LeaseState:
    """Write `values` to the leased job while the lease holds, reading back whether cancellation was asked."""
    row = session.execute(
        _fenced(lease)
        .values(**values)
        .returning(Job.cancel_requested)
        .execution_options(synchronize_session=False)
    ).first()
    return LeaseState(alive=row is not None, cancel_requested=bool(row and row.cancel_requested))


def read_state(session: Session, lease: Lease) -> LeaseState:
    row = session.execute(
        select(Job.status, Job.leased_by, Job.cancel_requested).where(Job.id == lease.job_id)
    ).first()
    alive = row is not None and row.status == JobStatus.RUNNING and row.leased_by == lease.token
    return LeaseState(alive=alive, cancel_requested=bool(row and row.cancel_requested))


def mark_succeeded(
    session: Session, lease: Lease, result: dict[str, Any] | None, message: str | None
) -> bool:
    values: dict[str, Any] = {
        "status": JobStatus.SUCCEEDED,
        "progress": 1.0,
        "finished_at": utcnow(),
        "lease_expires_at": None,
        "result": result,
        "error": None,
    }
    if message is not None:
        values["message"] = message[:2000]
    return updated_rows(session, _fenced(lease).values(**values)) > 0


def _run_hook(session: Session, hook: FinalHook | None, job_id: str) -> None:
    if hook is None:
        return
    job = session.get(Job, job_id, populate_existing=True)
    if job is not None:
        hook(session, job)


def _finalize(session: Session, job_id: str, spec: TaskSpec | None, status: JobStatus) -> None:
    if spec is None:
        log.warning("job_final_hook_skipped", job_id=job_id, reason="task not registered in this process")
        return
    _run_hook(session, spec.on_failure if status is JobStatus.FAILED else spec.on_cancel, job_id)


def _settle(session: Session, lease: Lease, status: JobStatus, values: dict[str, Any], *also: Any) -> bool:
    """Move the leased job to `status` (queued again, failed or cancelled) with `values` while the lease holds
    (and the conditions `also`); an ending runs the task's failure or cancel hook in the same transaction.
    False: the lease was lost, nothing changed. (Success is `mark_succeeded`: no hook.)"""
    if not updated_rows(session, _fenced(lease).where(*also).values(status=status, **values)):
        return False
    if status in (JobStatus.FAILED, JobStatus.CANCELLED):
        _finalize(session, lease.job_id, get_task(lease.kind), status)
    return True


def finish_with_error(
    factory: SessionFactory, lease: Lease, error: str, *, permanent: bool, cancel_requested: bool
) -> JobStatus | None:
    """After a failed attempt: retry later (backoff), or fail for good (retries exhausted / permanent), or
    end cancelled when cancellation was requested meanwhile. None when the lease was lost."""
    spec = get_task(lease.kind)
    now = utcnow()
    error = error[:MAX_ERROR_CHARS]
    if cancel_requested:
        status = JobStatus.CANCELLED
    elif permanent or lease.attempt >= lease.max_attempts:
        status = JobStatus.FAILED
    else:
        status = JobStatus.QUEUED
    with session_scope(factory) as session:
        if status is JobStatus.QUEUED:
            backoff = spec.backoff_s(lease.attempt) if spec else 5.0
            values: dict[str, Any] = {
                "run_after": now + dt.timedelta(seconds=backoff),
                "leased_by": None,
                "lease_expires_at": None,
                "error": error,
                "message": f"attempt {lease.attempt} failed; retrying in {backoff:g}s",
            }
        else:
            values = {"finished_at": now, "lease_expires_at": None, "error": error}
        if not _settle(session, lease, status, values):
            return None
    return status


def mark_cancelled(factory: SessionFactory, lease: Lease) -> bool:
    with session_scope(factory) as session:
        values = {"finished_at": utcnow(), "lease_expires_at": None, "message": "cancelled"}
        return _settle(session, lease, JobStatus.CANCELLED, values)


def release(factory: SessionFactory, lease: Lease) -> bool:
    """Give the job back to the queue (worker stopping) without counting this attempt."""
    with session_scope(factory) as session:
        values = {
            "attempts": Job.attempts - 1,
            "leased_by": None,
            "lease_expires_at": None,
            "run_after": utcnow(),
            "message": "released by a stopping worker",
        }
        return _settle(session, lease, JobStatus.QUEUED, values)


def reclaim_expired(factory: SessionFactory, worker_id: str, kinds: Sequence[str], limit: int = 100) -> int:
    """Requeue (or fail, or cancel) running jobs whose lease expired: their worker died or hung.

    A worker never reclaims its own leases (it knows its threads are alive; on SQLite a long write
    transaction can delay its heartbeats). Returns how many jobs were reclaimed.
    """
    if not kinds:
        return 0
    now = utcnow()
    expired = (
        (Job.status == JobStatus.RUNNING)
        & (Job.lease_expires_at < now)
        & Job.kind.in_(kinds)
        & ~Job.leased_by.startswith(f"{worker_id}/", autoescape=True)
    )
    with session_scope(factory) as session:
        rows = session.execute(
            select(Job.id, Job.kind, Job.leased_by, Job.attempts, Job.max_attempts, Job.cancel_requested)
            .where(expired)
            .limit(limit)
        ).all()
    reclaimed = 0
    for row in rows:
        lease = Lease(row.id, row.leased_by, row.kind, {}, None, row.attempts, row.max_attempts)
        error = f"attempt {row.attempts} lost: its worker stopped heartbeating (lease expired)"
        with session_scope(factory) as session:
            if _reclaim_one(session, lease, error, now, bool(row.cancel_requested)):
                reclaimed += 1
                log.warning("job_lease_expired", job_id=row.id, kind=row.kind, attempt=row.attempts)
    return reclaimed


def _reclaim_one(session: Session, lease: Lease, error: str, now: dt.datetime, cancel: bool) -> bool:
    spec = get_task(lease.kind)
    if cancel:
        status = JobStatus.CANCELLED
    elif lease.attempt >= lease.max_attempts:
        status = JobStatus.FAILED
    else:
        status = JobStatus.QUEUED
    values: dict[str, Any] = {"lease_expires_at": None, "error": error}
    if status is JobStatus.QUEUED:
        backoff = spec.backoff_s(lease.attempt) if spec else 5.0
        values.update(leased_by=None, run_after=now + dt.timedelta(seconds=backoff), message="retrying")
    else:
        values.update(finished_at=now)
    # Re-check the expiry in the UPDATE itself: a late heartbeat that renewed the lease wins.
    return _settle(session, lease, status, values, Job.lease_expires_at < now)
