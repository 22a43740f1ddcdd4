"""Test tasks of the hostile-input job tests: a job that never checks for cancellation (a heavy C call) and
one that allocates past any sane cap. Imported by the test and, by module name, by the job's child process."""

from __future__ import annotations

import time
from typing import Any

from recon.jobs import JobContext, task


@task("hostile.busy", max_attempts=3)
def busy(ctx: JobContext, seconds: float = 120.0) -> dict[str, Any]:
    """Busy for `seconds` without calling check_cancelled (what one parser call on a hostile file did)."""
    end = time.monotonic() + seconds
    spins = 0
    while time.monotonic() < end:
        spins += 1
    return {"spins": spins}


@task("hostile.allocate", max_attempts=3)
def allocate(ctx: JobContext, mib: int = 8192) -> dict[str, Any]:
    """Holds `mib` MiB at once (past the memory cap of the test)."""
    block = bytearray(mib * 2**20)
    return {"bytes": len(block)}


@task("hostile.steps", max_attempts=3)
def steps(ctx: JobContext, seconds: float = 120.0) -> None:
    """A long job that checks between its steps (what thread isolation relies on)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.05)
        ctx.check_cancelled()
