"""Stage timings for profiling (logged at DEBUG level on the `recon.engine` logger; never in results)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("recon.engine")


@contextmanager
def stage(name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%-40s %7.3f s", name, time.perf_counter() - start)
