"""Tables registered on a local Spark session reach it as Parquet files (not copied into the JVM's heap)."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

import pyarrow as pa
import pytest

pytestmark = pytest.mark.spark


def test_registered_tables_are_staged_parquet_files(spark, tmp_path):
    from recon.engine.spark import SparkBackend
    from recon.engine.spark.classic import parallelism

    backend = SparkBackend(spark, stage_dir=str(tmp_path))
    table = pa.table(
        {
            "id": pa.array(["b", "a"], pa.large_string()),
            "amount": pa.array([Decimal("1.50"), None], pa.decimal128(12, 2)),
            "day": pa.array([dt.date(2026, 1, 2), dt.date(1970, 1, 1)]),
        }
    )
    for name in ("__w_left", "L"):  # Spark skips files whose names start with "_": not these
        backend.register(name, table)
        got = backend.arrow(f"SELECT id, amount, day FROM {name} ORDER BY id")
        assert got.column("id").to_pylist() == ["a", "b"]
        assert got.column("amount").to_pylist() == [None, Decimal("1.50")]
        assert got.column("day").to_pylist() == [0, 20455]  # day numbers, as the dialect expects
    assert len(os.listdir(tmp_path)) == 2
    backend.register("L", table.slice(0, 1))  # registered again: a new file, the view follows
    assert backend.arrow("SELECT count(*) AS n FROM L").column("n").to_pylist() == [1]
    backend.close()
    assert tmp_path.exists()  # a folder given by the caller is the caller's
    assert parallelism(spark) == 2


def test_default_staging_folder_is_removed_on_close(spark):
    from recon.engine.spark import SparkBackend

    backend = SparkBackend(spark)
    assert backend.staging is not None
    backend.register("t", pa.table({"x": [1, 2, 3]}))
    assert backend.arrow("SELECT sum(x) AS s FROM t").column("s").to_pylist() == [6]
    folder = backend.staging.folder
    backend.close()
    assert not os.path.exists(folder)


def test_staging_folders_of_dead_processes_are_removed(tmp_path, monkeypatch):
    """A killed run leaves its staging folder: the next staging removes those whose process is gone."""
    import subprocess
    import sys
    import tempfile

    from recon.engine.spark.session import Staging, remove_stale

    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    dead = int(finished.stdout)  # that process has ended (its pid may be reused: then the folder stays)
    for name in (f"recon-spark-{dead}-abc", f"recon-spark-{os.getpid()}-def", "recon-spark-xyz"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "1-L.parquet").write_bytes(b"x")
    (tmp_path / f"recon-spark-{dead}-file").write_text("not a folder")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    staging = Staging(None)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [
            f"recon-spark-{dead}-file",
            f"recon-spark-{os.getpid()}-def",
            "recon-spark-xyz",
            os.path.basename(staging.folder),
        ]
    )
    assert os.path.basename(staging.folder).startswith(f"recon-spark-{os.getpid()}-")
    staging.remove()
    assert remove_stale(str(tmp_path)) == []
