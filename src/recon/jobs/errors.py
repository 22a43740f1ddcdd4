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
