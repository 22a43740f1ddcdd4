"""The no-op task of bench/job_isolation_bench.py, in a module of its own: a job's child process imports its
task's module by name, and this one loads nothing beyond the job API (a `__main__` script is not imported)."""

from __future__ import annotations

import os

from recon.jobs import JobContext, task


@task("bench.noop", max_attempts=1)
def noop(ctx: JobContext) -> dict[str, int]:
    return {"pid": os.getpid()}
