"""One-to-one assignment in Spark: connected components of the candidate graph found in Spark, then the
engine's exact solver (recon.engine.assign, recon.engine.margin) run per batch of whole components in a
grouped pandas UDF.

A batch of components solves exactly as each component alone (the solver and the margin rule never look
beyond a component), so the result is the DuckDB backend's. Components: records that are each other's only
candidate (most pairs) are components of their own; the rest are labelled by min-label propagation with
pointer jumping (rounds grow with the log of a component's diameter, not its size).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from recon.engine.arrays import FloatArray, IntArray
from recon.engine.assign import Assignment
from recon.engine.backend import solve_here
from recon.engine.errors import EngineError
from recon.engine.margin import Rivals
from recon.engine.spark.classic import parallelism
from recon.engine.timing import stage

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

BATCHES_PER_CORE = 4
MAX_ROUNDS = 64
CHOSEN, AMBIGUOUS_LEFT, AMBIGUOUS_RIGHT, LOSER_LEFT, LOSER_RIGHT = range(5)
OUTPUT = "kind int, a long, tied boolean, greedy boolean, rival_side int, rival_node long, rival_score double"


def solve_in_spark(
    spark: SparkSession, left: IntArray, right: IntArray, score: FloatArray, margin: float
) -> tuple[Assignment, Rivals]:
    """recon.engine.backend.solve_here's result, computed in Spark."""
    from pyspark.sql import functions as F

    if len(left) == 0:
        return solve_here(left, right, score, margin)
    edges = spark.createDataFrame(
        pa.table({"e": np.arange(len(left), dtype=np.int64), "l": left, "r": right, "s": score})
    )
    with stage("spark: components"):
        labelled = components(spark, edges)
    batches = max(1, BATCHES_PER_CORE * parallelism(spark))
    solved = (
        labelled.withColumn("b", F.pmod(F.xxhash64("c"), F.lit(batches)))
        .groupBy("b")
        .applyInPandas(_batch_solver(margin), schema=OUTPUT)
    )
    with stage("spark: solve per component batch"):
        return _collect(solved.toArrow(), len(left))


def components(spark: SparkSession, edges: DataFrame) -> DataFrame:
    """edges (e, l, r, s) with `c`: a label shared by exactly the edges of one connected component.
    Nodes are 2*l (left) and 2*r + 1 (right)."""
    from pyspark.sql import functions as F

    degree_l = edges.groupBy("l").agg(F.count("*").alias("dl"))
    degree_r = edges.groupBy("r").agg(F.count("*").alias("dr"))
    edges = edges.join(degree_l, "l").join(degree_r, "r").localCheckpoint()
    single = edges.where("dl = 1 AND dr = 1").withColumn("c", F.col("l") * 2)
    rest = (
        edges.where("dl > 1 OR dr > 1")
        .select("e", "l", "r", "s", (F.col("l") * 2).alias("a"), (F.col("r") * 2 + 1).alias("z"))
        .localCheckpoint()
    )
    links = rest.select("a", "z")
    labels = links.select(F.col("a").alias("v")).union(links.select(F.col("z").alias("v"))).distinct()
    labels = labels.withColumn("c", F.col("v")).localCheckpoint()
    for _ in range(MAX_ROUNDS):
        joined = (
            links.join(labels.withColumnRenamed("v", "a").withColumnRenamed("c", "ca"), "a")
            .join(labels.withColumnRenamed("v", "z").withColumnRenamed("c", "cz"), "z")
            .select("a", "z", F.least("ca", "cz").alias("m"))
        )
        smallest = (
            joined.select(F.col("a").alias("v"), "m")
            .union(joined.select(F.col("z").alias("v"), "m"))
            .union(labels.select("v", F.col("c").alias("m")))
            .groupBy("v")
            .agg(F.min("m").alias("c"))
        )
        parent = smallest.select(F.col("v").alias("c"), F.col("c").alias("jump"))
        jumped = smallest.join(parent, "c").select("v", F.least("c", "jump").alias("c")).localCheckpoint()
        with stage("spark: components round"):
            changed = (
                jumped.join(labels.withColumnRenamed("c", "old"), "v").where("c <> old").limit(1).count()
            )
        labels = jumped
        if changed == 0:
            break
    else:
        raise EngineError(f"connected components did not settle in {MAX_ROUNDS} rounds")
    found = rest.join(labels.withColumnRenamed("v", "a"), "a").select("e", "l", "r", "s", "c")
    return found.union(single.select("e", "l", "r", "s", "c"))


def _batch_solver(margin: float) -> Any:
    def solve(batch: Any) -> Any:
        import pandas as pd

        batch = batch.sort_values("e", kind="stable")
        e = batch["e"].to_numpy(np.int64)
        chosen, rivals = solve_here(
            batch["l"].to_numpy(np.int64),
            batch["r"].to_numpy(np.int64),
            batch["s"].to_numpy(np.float64),
            margin,
        )
        n = len(chosen.edges)
        parts = [
            pd.DataFrame(
                {
                    "kind": np.full(n, CHOSEN, np.int32),
                    "a": e[chosen.edges],
                    "tied": chosen.tied,
                    "greedy": chosen.greedy,
                    "rival_side": rivals.side.astype(np.int32),
                    "rival_node": rivals.node,
                    "rival_score": rivals.score,
                }
            )
        ]
        for kind, nodes in (
            (AMBIGUOUS_LEFT, chosen.ambiguous_left),
            (AMBIGUOUS_RIGHT, chosen.ambiguous_right),
            (LOSER_LEFT, rivals.losers_left),
            (LOSER_RIGHT, rivals.losers_right),
        ):
            parts.append(_nodes(kind, nodes))
        return pd.concat(parts, ignore_index=True)

    return solve


def _nodes(kind: int, nodes: IntArray) -> Any:
    import pandas as pd

    m = len(nodes)
    return pd.DataFrame(
        {
            "kind": np.full(m, kind, np.int32),
            "a": nodes.astype(np.int64),
            "tied": np.zeros(m, bool),
            "greedy": np.zeros(m, bool),
            "rival_side": np.full(m, -1, np.int32),
            "rival_node": np.full(m, -1, np.int64),
            "rival_score": np.full(m, -np.inf),
        }
    )


def _collect(table: pa.Table, n_edges: int) -> tuple[Assignment, Rivals]:
    columns = {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}
    kind = columns["kind"]
    chosen = kind == CHOSEN
    order = np.argsort(columns["a"][chosen], kind="stable")

    def pick(name: str) -> Any:
        return columns[name][chosen][order]

    edges = pick("a").astype(np.int64)
    if len(edges) and (edges.max() >= n_edges or len(np.unique(edges)) != len(edges)):
        raise EngineError("the Spark assignment returned unknown or repeated edges")

    def nodes(which: int) -> IntArray:
        return np.unique(columns["a"][kind == which]).astype(np.int64)

    assignment = Assignment(
        edges=edges,
        tied=pick("tied").astype(bool),
        greedy=pick("greedy").astype(bool),
        ambiguous_left=nodes(AMBIGUOUS_LEFT),
        ambiguous_right=nodes(AMBIGUOUS_RIGHT),
    )
    rivals = Rivals(
        side=pick("rival_side").astype(np.int8),
        node=pick("rival_node").astype(np.int64),
        score=pick("rival_score").astype(np.float64),
        losers_left=nodes(LOSER_LEFT),
        losers_right=nodes(LOSER_RIGHT),
    )
    return assignment, rivals
