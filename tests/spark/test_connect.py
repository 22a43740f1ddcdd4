"""Spark Connect: a reconcile through a Connect client (a local Connect server started by PySpark from
the connect jar it ships) gives DuckDB's outcome, explanations included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.spark


def test_demo_through_spark_connect_identical_to_duckdb(spark, tmp_path):
    # `spark` (the classic session fixture) only for its skip when PySpark or Java is missing; the Connect
    # run is a child process: PySpark refuses to start a local Connect server beside a classic session
    pytest.importorskip("grpc", reason="pyspark[connect] extras (grpcio) not installed")
    child = Path(__file__).with_name("connect_child.py")
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    done = subprocess.run(
        [sys.executable, str(child), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["client"].startswith("pyspark.sql.connect")  # a Connect client, not a classic session
    reference = found["duckdb"]
    assert reference["checks"] == {"exactly_once": True, "control_totals": True}
    assert reference["outcome"]["groups"]
    connect = found["connect_assignment_in_spark"]
    assert connect["outcome"] == reference["outcome"]
    assert connect["explanations"] == reference["explanations"]
