"""The engine's memory limit follows the container's: ENGINE_MEMORY_FRACTION of the cgroup limit (v2 or v1),
ENGINE_MEMORY_LIMIT when set, DuckDB's default without a limit."""

from __future__ import annotations

from pathlib import Path

from recon.config import Settings
from recon.core.resources import cgroup_memory_limit, engine_memory_limit


def test_limit_from_cgroup_files(tmp_path: Path) -> None:
    v2, v1 = tmp_path / "memory.max", tmp_path / "limit_in_bytes"
    settings = Settings(_env_file=None)
    v2.write_text("max\n")
    assert cgroup_memory_limit((v2, v1)) is None and engine_memory_limit(settings, (v2, v1)) is None
    v2.unlink()
    v1.write_text("9223372036854771712\n")  # cgroup v1 without a limit
    assert cgroup_memory_limit((v2, v1)) is None
    v1.write_text(str(3 * 2**30))
    assert engine_memory_limit(settings, (v2, v1)) == "1536MB"
    assert engine_memory_limit(Settings(_env_file=None, engine_memory_fraction=0.25), (v2, v1)) == "768MB"
    assert engine_memory_limit(Settings(_env_file=None, engine_memory_limit="2GB"), (v2, v1)) == "2GB"
    assert cgroup_memory_limit((tmp_path / "missing",)) is None
