"""Run by tests/spark/test_connect.py in a child process (a local Spark Connect server cannot start in a
process that already has a classic Spark session): the demo reconciled on DuckDB and through a Spark
Connect client (`connect:local[2]`), the outcomes printed as JSON on the last line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from outcomes import explanations, outcome

from recon.cli.match import read_side
from recon.demo.generator import generate
from recon.engine import parse_rules, reconcile
from recon.engine.spark import SparkBackend, spark_session


def main(folder: Path) -> None:
    files = generate(300, folder)
    rules = parse_rules(files.rules.read_text(), source="demo.yaml")
    left = read_side(files.left, rules, "left", Path(files.rules)).table
    right = read_side(files.right, rules, "right", Path(files.rules)).table
    spark = spark_session(
        "connect:local[2]", {"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2"}
    )
    found = {"client": type(spark).__module__}
    for name, backend in (
        ("duckdb", "duckdb"),
        # one Connect run, with the assignment in Spark too (the driver's assignment is the classic tests')
        ("connect_assignment_in_spark", SparkBackend(spark, driver_edges=0)),
    ):
        result = reconcile(left, right, rules, backend=backend)
        found[name] = {
            "outcome": outcome(result),
            "explanations": sorted(map(repr, explanations(result).items())),
            "checks": result.summary["checks"],
        }
    spark.stop()
    print(json.dumps(found, default=str))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
