"""The planner's DuckDB SQL as Spark SQL: sqlglot transpiles it, and a few rewrites keep DuckDB's meaning.

- Dates are day numbers on Spark (days since 1970-01-01, `unix_date`): the Spark backend registers date
  columns as integers, a date literal becomes its day number and a cast to DATE becomes
  `unix_date(CAST(x AS DATE))`, so `date - date` is a number of days as in DuckDB (Spark would give an
  interval) and `date +- n` stays a day number.
- `/` is division of doubles, as in DuckDB (Spark divides decimals as decimals, rounding differently).
- `jaro_winkler_similarity` is the backend's rapidfuzz UDF (Spark has no Jaro-Winkler; DuckDB's is
  rapidfuzz's algorithm).
- CTEs lose DuckDB's MATERIALIZED hint (Spark plans them itself).
- regexp_replace's replacement: RE2's group references `\\1` are Java's `$1` (and a `$` is literal).
  Spark replaces every match, as DuckDB does with 'g' (the planner's one pattern without 'g' is anchored).
"""

from __future__ import annotations

import datetime as dt
import re

import sqlglot
from sqlglot import exp

JARO_WINKLER_UDF = "recon_jaro_winkler"
EPOCH = dt.date(1970, 1, 1)


def to_spark(query: str) -> str:
    """One DuckDB statement as Spark SQL."""
    return _spark(sqlglot.parse_one(query, read="duckdb"))


def select_of(query: str) -> tuple[str | None, str, bool]:
    """(relation, Spark SELECT, is a table) of a `CREATE [OR REPLACE] TEMP VIEW|TABLE name AS SELECT ...`;
    (None, the statement as Spark SQL, False) for anything else."""
    tree = sqlglot.parse_one(query, read="duckdb")
    if isinstance(tree, exp.Create) and isinstance(tree.expression, exp.Query):
        name = tree.this.name if isinstance(tree.this, exp.Table) else tree.this.this.name
        return name, _spark(tree.expression), str(tree.args.get("kind", "")).upper() == "TABLE"
    return None, _spark(tree), False


def builds_json(query: str) -> bool:
    """Does the query write JSON texts (json_object / json_array)? Their formatting (numbers, dates) is
    DuckDB's, so the Spark backend runs such a query on the driver (SparkBackend._on_driver)."""
    tree = sqlglot.parse_one(query, read="duckdb")
    return any(True for _ in tree.find_all(exp.JSONObject, exp.JSONArray))


def relations_of(query: str) -> list[str]:
    """The tables and views a query reads (not its own CTEs), in order of appearance."""
    tree = sqlglot.parse_one(query, read="duckdb")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    names: list[str] = []
    for table in tree.find_all(exp.Table):
        if table.name not in ctes and table.name not in names:
            names.append(table.name)
    return names


def _spark(tree: exp.Expression) -> str:
    tree = tree.transform(_rewrite)
    # every division, nested ones too (a transform does not visit the inside of a node it replaced)
    for division in list(tree.find_all(exp.Div)):
        for arg in ("this", "expression"):
            side = division.args[arg]
            division.set(arg, exp.Paren(this=exp.Cast(this=side, to=exp.DataType.build("double"))))
    spark_sql: str = tree.sql(dialect="spark")
    return spark_sql


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.DATE):
        if isinstance(node.this, exp.Literal) and node.this.is_string:
            return exp.Literal.number((dt.date.fromisoformat(node.this.this) - EPOCH).days)
        return exp.Anonymous(this="unix_date", expressions=[node.copy()])
    if isinstance(node, exp.JarowinklerSimilarity):
        return exp.Anonymous(this=JARO_WINKLER_UDF, expressions=[node.this.copy(), node.expression.copy()])
    if isinstance(node, exp.RegexpReplace):
        replacement = node.args.get("replacement")
        if isinstance(replacement, exp.Literal) and replacement.is_string:
            node = node.copy()
            java = re.sub(r"\\(\d)", r"$\1", replacement.this.replace("$", "\\$"))
            node.set("replacement", exp.Literal.string(java))
        return node
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node = node.copy()
        node.set("materialized", None)
        return node
    return node
