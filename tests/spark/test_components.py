"""Connected components and assignment in Spark give the driver solver's result exactly."""

from __future__ import annotations

import numpy as np
import pytest

from recon.engine.backend import solve_here

pytestmark = pytest.mark.spark


def _same(spark, left, right, score, margin=0.02):
    from recon.engine.spark.components import solve_in_spark

    order = np.lexsort((right, left))
    left, right, score = left[order], right[order], score[order]
    here, here_rivals = solve_here(left, right, score, margin)
    there, there_rivals = solve_in_spark(spark, left, right, score, margin)
    for name in ("edges", "tied", "greedy", "ambiguous_left", "ambiguous_right"):
        np.testing.assert_array_equal(getattr(there, name), getattr(here, name), err_msg=name)
    for name in ("side", "node", "score", "losers_left", "losers_right"):
        np.testing.assert_array_equal(getattr(there_rivals, name), getattr(here_rivals, name), err_msg=name)
    return there


def test_random_graphs_with_ties(spark):
    rng = np.random.default_rng(5)
    pairs = np.unique(rng.integers(0, 60, size=(300, 2)), axis=0)
    score = rng.choice([0.5, 0.7, 0.7, 0.9, 1.0], size=len(pairs))
    _same(spark, pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64), score)


def test_a_long_chain_is_one_component(spark):
    # l0-r0-l1-r1-...: diameter 79, labels settle by pointer jumping
    n = 40
    left = np.concatenate([np.arange(n), np.arange(1, n)]).astype(np.int64)
    right = np.concatenate([np.arange(n), np.arange(n - 1)]).astype(np.int64)
    score = np.where(left == right, 0.9, 0.6)
    chosen = _same(spark, left, right, score)
    assert len(chosen.edges) == n


def test_isolated_pairs_and_no_edges(spark):
    left = np.arange(5, dtype=np.int64)
    _same(spark, left, left.copy(), np.full(5, 0.8))
    empty = np.zeros(0, np.int64)
    _same(spark, empty, empty, np.zeros(0))
