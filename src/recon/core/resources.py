"""The container's resource limits as the process sees them (cgroup v2 or v1), for sizing the engine."""

from __future__ import annotations

from pathlib import Path

from recon.config import Settings

# cgroup v2, then v1. A value at or above 2**60 (v1's "no limit") or "max" means unlimited.
CGROUP_MEMORY_FILES = (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
UNLIMITED = 2**60


def cgroup_memory_limit(files: tuple[Path, ...] = CGROUP_MEMORY_FILES) -> int | None:
    """The memory limit of this process's container in bytes; None when there is none."""
    for path in files:
        try:
            raw = path.read_text().strip()
        except OSError:
            continue
        if raw == "max":
            return None
        try:
            value = int(raw)
        except ValueError:
            continue
        return value if value < UNLIMITED else None
    return None


def engine_memory_limit(settings: Settings, files: tuple[Path, ...] = CGROUP_MEMORY_FILES) -> str | None:
    """DuckDB's memory_limit: ENGINE_MEMORY_LIMIT when set; otherwise ENGINE_MEMORY_FRACTION of the
    container's limit (the rest is for Arrow tables and Python), so a big run spills to disk instead of
    being OOM-killed; None (DuckDB's default, 80 % of RAM) outside a container."""
    if settings.engine_memory_limit:
        return settings.engine_memory_limit
    limit = cgroup_memory_limit(files)
    if limit is None:
        return None
    return f"{max(int(limit * settings.engine_memory_fraction) // 2**20, 64)}MB"
