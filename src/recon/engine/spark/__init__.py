"""The Spark execution backend (issue 14): the same rules and plan on Apache Spark.

    from recon.engine import reconcile
    from recon.engine.spark import SparkBackend, spark_session
    result = reconcile(left, right, rules, backend=SparkBackend(spark_session("local[*]")))

Needs the `spark` extra (PySpark 4, Java 17+). See docs/scaling.md and docs/adr/0019-spark-backend.md.
"""

from __future__ import annotations

from recon.engine.spark.session import SparkBackend, default_session, spark_session

__all__ = ["SparkBackend", "default_session", "spark_session"]
