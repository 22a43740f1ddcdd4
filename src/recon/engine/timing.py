"""Stage timings for profiling (logged at DEBUG level on the `recon.engine` logger; never in results)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("recon.engine")


@contextmanager
def stage(name: str) -> Iterator[None]:
    start, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        if log.isEnabledFor(logging.DEBUG):
            wall, used = time.perf_counter() - start, time.process_time() - cpu
            log.debug("%-40s %7.3f s wall %7.3f s cpu", name, wall, used)
