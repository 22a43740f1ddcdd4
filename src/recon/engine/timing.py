"""Stage timings: logged at DEBUG level on the `recon.engine` logger, and collected while `profiling()`
is active (`recon match --profile` prints them). Never part of the results."""

from __future__ import annotations

import logging
import resource
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger("recon.engine")


@dataclass(frozen=True)
class StageTime:
    name: str
    wall_s: float
    cpu_s: float  # of the thread that ran the stage
    thread: str
    started_s: float  # since profiling began
    rss_mb: float  # resident memory of the process when the stage ended
    peak_mb: float  # the process's peak resident memory so far


def _rss_mb() -> float:
    """Current resident set size (Linux /proc; 0 where it is not available)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


class _Collector:
    lock = threading.Lock()
    records: list[StageTime] | None = None
    origin = 0.0


@contextmanager
def profiling() -> Iterator[list[StageTime]]:
    """Collect every stage that ends while the block runs (all threads), in order of completion; the
    CPU time is the calling thread's (DuckDB's own threads are not counted)."""
    records: list[StageTime] = []
    with _Collector.lock:
        _Collector.records, _Collector.origin = records, time.perf_counter()
    try:
        yield records
    finally:
        with _Collector.lock:
            _Collector.records = None


@contextmanager
def stage(name: str) -> Iterator[None]:
    start, cpu = time.perf_counter(), time.thread_time()
    try:
        yield
    finally:
        wall, used = time.perf_counter() - start, time.thread_time() - cpu
        if _Collector.records is not None:
            thread = threading.current_thread().name
            origin = start - _Collector.origin
            record = StageTime(name, wall, used, thread, origin, _rss_mb(), _peak_mb())
            with _Collector.lock:
                if _Collector.records is not None:
                    _Collector.records.append(record)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%-40s %7.3f s wall %7.3f s cpu", name, wall, used)
