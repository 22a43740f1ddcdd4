"""Which kind of Spark session: classic (a JVM in this process) or a Spark Connect client."""

from __future__ import annotations

from typing import Any


def is_classic(spark: Any) -> bool:
    """A classic session rather than a Spark Connect one (a Connect client has no SparkContext)."""
    return hasattr(spark, "sparkContext") and not type(spark).__module__.startswith("pyspark.sql.connect")


def parallelism(spark: Any) -> int:
    """The session's cores; a Spark Connect client's shuffle partitions (it has no SparkContext)."""
    if is_classic(spark):
        return max(1, int(spark.sparkContext.defaultParallelism))
    return max(1, int(spark.conf.get("spark.sql.shuffle.partitions") or 1))
