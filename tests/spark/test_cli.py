"""`recon match --backend spark`: Parquet in, Parquet out, the DuckDB backend's groups and reasons."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from engine.helpers import side
from recon.cli.main import app

pytestmark = pytest.mark.spark
runner = CliRunner()


@pytest.fixture
def files(tmp_path, near_rules):
    left = side(
        ["a", "b", "c"],
        ["10.00", "20.00", "30.00"],
        ["2024-03-01", "2024-03-10", "2024-04-01"],
        name=["Acme GmbH", "Globex", "Initech"],
    )
    right = side(
        ["x", "y", "z"],
        ["10.02", "20.00", "99.00"],
        ["2024-03-02", "2024-03-11", "2024-04-01"],
        name=["ACME GMBH", "Globex Ltd", "Initech"],
    )
    pq.write_table(left, tmp_path / "left.parquet")
    pq.write_table(right, tmp_path / "right.parquet")
    (tmp_path / "rules.yaml").write_text(near_rules("cli"))
    return tmp_path


def _match(folder, out, *options):
    args = [
        "match",
        str(folder / "left.parquet"),
        str(folder / "right.parquet"),
        "--rules",
        str(folder / "rules.yaml"),
        "--out",
        str(out),
        "-q",
        *options,
    ]
    return runner.invoke(app, args)


def test_match_on_spark_writes_what_duckdb_writes(spark, files):
    assert _match(files, files / "duck").exit_code == 0
    result = _match(files, files / "spark", "--backend", "spark")
    assert result.exit_code == 0, result.output
    for name in ("matches", "unmatched_left", "unmatched_right"):
        duck, there = (pq.read_table(files / out / f"{name}.parquet") for out in ("duck", "spark"))
        if name == "matches":  # explanations quote scores, which may differ in the last bit
            duck, there = duck.drop_columns(["explanation"]), there.drop_columns(["explanation"])
        assert there.equals(duck), name
    summary = json.loads((files / "spark" / "summary.json").read_text())
    assert summary["left"]["matched"] == 2
    assert summary["checks"] == {"exactly_once": True, "control_totals": True}


def test_backend_options_are_checked(files):
    result = _match(files, files / "o", "--backend", "flink")
    assert result.exit_code == 2
    assert "--backend: 'flink' is not one of duckdb, spark" in result.output
    result = _match(files, files / "o", "--spark-master", "local[1]")
    assert result.exit_code == 2
    assert "--spark-master: only with --backend spark" in result.output
    result = _match(files, files / "o", "--spark-inputs", "driver")
    assert result.exit_code == 2
    assert "--spark-inputs: only with --backend spark" in result.output
    result = _match(files, files / "o", "--backend", "spark", "--spark-inputs", "jvm")
    assert result.exit_code == 2
    assert "--spark-inputs: 'jvm' is not one of spark, driver" in result.output
