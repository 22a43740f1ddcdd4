"""The Spark backend's tests: the `spark` group (`make pytest-spark`), one local Spark session for all.

They need the `spark` dependency group (PySpark, sqlglot) and Java 17+: skipped when those are absent,
except under CI=true, where that is a failure."""

from __future__ import annotations

import os
import shutil

import pytest

pytestmark = pytest.mark.spark


def _missing() -> str | None:
    try:
        import pyspark  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError as exc:
        return f"the spark dependency group is not installed ({exc.name}); uv sync --group spark"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java (17+) for Spark"
    return None


@pytest.fixture(scope="session")
def spark():
    missing = _missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)
    from recon.engine.spark import spark_session

    config = {"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2"}
    if os.environ.get("RECON_SPARK_TEST_MEMORY"):  # a smaller JVM heap on a shared machine, e.g. 1g
        config["spark.driver.memory"] = os.environ["RECON_SPARK_TEST_MEMORY"]
    session = spark_session("local[2]", config)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """The demo's ledger and bank (300 rows), its rules (one_to_one passes and the grouped `batches`) and
    their DuckDB result: one home for the Spark group's demo, generated and reconciled on DuckDB once."""
    from pathlib import Path

    from recon.cli.match import read_side
    from recon.demo.generator import generate
    from recon.engine import parse_rules, reconcile

    files = generate(300, tmp_path_factory.mktemp("demo"))
    rules = parse_rules(files.rules.read_text(), source="demo.yaml")
    assert {p.kind for p in rules.passes} >= {"one_to_one", "many_to_one"}
    left = read_side(files.left, rules, "left", Path(files.rules))
    right = read_side(files.right, rules, "right", Path(files.rules))
    return left.table, right.table, rules, reconcile(left.table, right.table, rules)


@pytest.fixture(params=["duckdb", "spark"])
def backend(request):
    """A backend factory per backend: both run the same tests (results compared by the tests)."""
    if request.param == "duckdb":
        return lambda **_: "duckdb"
    spark = request.getfixturevalue("spark")
    from recon.engine.spark import SparkBackend

    return lambda **options: SparkBackend(spark, **options)


NEAR_RULES = """\
version: 1
name: {name}
left: {{id: id}}
right: {{id: id}}
passes:
  - name: near
    kind: one_to_one
    match:
      - {{left: amount, right: amount, op: tolerance, abs: 0.05}}
      - {{left: date, right: date, op: within_days, days: 2}}
    score:
      - {{left: name, right: name, method: jaro_winkler, weight: 1}}
"""


@pytest.fixture
def near_rules():
    """The rules text of `recon match`'s tests (CLI, S3): one one_to_one pass over amount, date and name;
    a function of the rule set's name."""
    return lambda name: NEAR_RULES.format(name=name)
