"""The planner's DuckDB SQL as Spark SQL (no Spark session needed)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.spark
dialect = pytest.importorskip(
    "recon.engine.spark.dialect", reason="the spark dependency group is not installed"
)


def test_date_literals_become_day_numbers_and_casts_unix_date():
    out = dialect.to_spark("SELECT (d - DATE '1970-01-11') AS a, CAST(t AS DATE) AS b FROM x")
    assert out == "SELECT (d - 10) AS a, UNIX_DATE(CAST(t AS DATE)) AS b FROM x"


def test_division_is_of_doubles_as_in_duckdb():
    out = dialect.to_spark("SELECT a / 7 AS q FROM x")
    assert out == "SELECT (CAST(a AS DOUBLE)) / (CAST(7 AS DOUBLE)) AS q FROM x"


def test_nested_divisions_are_of_doubles_too():
    # a day closeness inside a mean: Spark would divide the inner decimals to 6 places (0.666667)
    out = dialect.to_spark("SELECT ((1.0 - abs(r - l) / 3.0) + 1.0) / 2 AS m FROM x")
    assert out.count("AS DOUBLE") == 4, out
    assert "(CAST(ABS(r - l) AS DOUBLE)) / (CAST(3.0 AS DOUBLE))" in out


def test_jaro_winkler_is_the_backends_udf_and_materialized_hints_go():
    out = dialect.to_spark(
        "WITH c AS MATERIALIZED (SELECT * FROM x) SELECT jaro_winkler_similarity(c.a, c.b) AS s FROM c"
    )
    assert "MATERIALIZED" not in out.upper()
    assert f"{dialect.JARO_WINKLER_UDF}(c.a, c.b)".upper() in out.upper()


def test_create_statements_give_the_relation_and_its_select():
    name, select, table = dialect.select_of("CREATE OR REPLACE TEMP TABLE pl AS SELECT __rid FROM L")
    assert (name, select, table) == ("pl", "SELECT __rid FROM L", True)
    name, _, table = dialect.select_of("CREATE OR REPLACE TEMP VIEW pl_view AS SELECT 1 AS x")
    assert (name, table) == ("pl_view", False)


def test_band_ranges_explode_a_sequence():
    out = dialect.to_spark("SELECT *, unnest(range(lo, hi + 1)) AS k FROM x")
    assert "EXPLODE" in out.upper() and "SEQUENCE(lo" in out


def test_regexp_group_references_become_javas():
    out = dialect.to_spark(
        r"SELECT regexp_replace(x, '^0+(.)', '\1') AS z, regexp_replace(x, 'a', '$', 'g') AS d"
    )
    assert out == r"SELECT REGEXP_REPLACE(x, '^0+(.)', '$1') AS z, REGEXP_REPLACE(x, 'a', '\\$') AS d"
