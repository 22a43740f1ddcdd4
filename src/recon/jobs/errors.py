"""Exceptions a task raises (or sees) to steer its job."""

from __future__ import annotations


class JobCancelled(Exception):
    """Raised by `ctx.check_cancelled()` once cancellation was requested; the job ends `cancelled`."""


class LeaseLost(JobCancelled):
    """This attempt no longer owns the job (its lease expired and another worker may run it): stop, write
    nothing more. The job's state belongs to the new owner."""


class WorkerStopping(JobCancelled):
    """The worker is shutting down: the job goes back to the queue without counting this attempt."""


class JobFailed(Exception):
    """A permanent failure (bad input): the job fails now, without the remaining retries."""


class JobOverLimit(JobFailed):
    """The job went past its wall-time or memory cap (JOB_TIMEOUT_S, JOB_MEMORY_MAX_BYTES): it fails for
    good with that reason (a retry would hit the same cap and keep a worker busy again)."""


def public_error(exc: BaseException, job_id: str) -> str:
    """What users see of an unexpected failure: its kind, not the library's text (which may carry SQL,
    server paths or data); the full text is in the worker's log under the job's id."""
    return f"internal error ({type(exc).__name__}); the details are in the worker's log under job {job_id}"
