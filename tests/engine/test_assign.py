"""Assignment: optimal total score, exact tie detection, against brute force on small graphs."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.engine.assign import assign, edge_values


def brute_force(left, right, score):
    values = edge_values(np.asarray(score, float))
    n = len(left)
    best, optimal = None, []
    for size in range(n + 1):
        for subset in itertools.combinations(range(n), size):
            ls = [left[i] for i in subset]
            rs = [right[i] for i in subset]
            if len(set(ls)) < size or len(set(rs)) < size:
                continue
            total = int(sum(values[i] for i in subset))
            if best is None or total > best:
                best, optimal = total, [set(subset)]
            elif total == best:
                optimal.append(set(subset))
    return best, optimal


edges_strategy = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 3), st.sampled_from([0.2, 0.5, 0.5, 0.9, 1.0])),
    min_size=0,
    max_size=9,
    unique_by=lambda e: (e[0], e[1]),
)


@settings(max_examples=300, deadline=None)
@given(edges_strategy)
def test_assignment_is_optimal_with_exact_ties(edges):
    left = np.array([e[0] for e in edges], np.int64)
    right = np.array([e[1] + 100 for e in edges], np.int64)
    score = np.array([e[2] for e in edges], float)
    result = assign(left, right, score)
    values = edge_values(score)
    chosen = result.edges.tolist()
    assert len(set(left[chosen])) == len(chosen) and len(set(right[chosen])) == len(chosen)
    best, optimal = brute_force(left.tolist(), right.tolist(), score.tolist())
    assert int(values[chosen].sum()) == best
    for edge, tied in zip(chosen, result.tied.tolist(), strict=True):
        assert tied == any(edge not in option for option in optimal)
    used_l, used_r = set(left[chosen].tolist()), set(right[chosen].tolist())
    expected_l = {left[i] for option in optimal for i in option} - used_l
    expected_r = {right[i] for option in optimal for i in option} - used_r
    assert set(result.ambiguous_left.tolist()) == expected_l
    assert set(result.ambiguous_right.tolist()) == expected_r


def test_best_total_beats_greedy_first_candidate():
    # L1-R1 0.9 is the single best edge, but L1-R2 + L2-R1 (0.6 + 0.6) is the better total
    left = np.array([1, 1, 2])
    right = np.array([1, 2, 1])
    result = assign(left, right, np.array([0.9, 0.6, 0.6]))
    pairs = zip(left[result.edges].tolist(), right[result.edges].tolist(), strict=True)
    assert sorted(pairs) == [(1, 2), (2, 1)]
    assert not result.tied.any()


def test_tie_is_flagged_and_loser_is_ambiguous():
    left = np.array([1, 1])
    right = np.array([1, 2])
    result = assign(left, right, np.array([0.8, 0.8]))
    assert result.edges.tolist() == [0]
    assert result.tied.tolist() == [True]
    assert result.ambiguous_right.tolist() == [2]


def test_large_component_uses_linear_sum_assignment():
    rng = np.random.default_rng(1)
    n = 12
    left = np.repeat(np.arange(n), n)
    right = np.tile(np.arange(n), n) + 1000
    score = rng.random(n * n)
    result = assign(left, right, score)
    from scipy.optimize import linear_sum_assignment

    matrix = edge_values(score).reshape(n, n).astype(float)
    rows, cols = linear_sum_assignment(matrix, maximize=True)
    assert edge_values(score)[result.edges].sum() == matrix[rows, cols].sum()
    assert len(result.edges) == n


@settings(max_examples=200, deadline=None)
@given(edges_strategy)
def test_linear_sum_assignment_path_matches_brute_force(edges):
    import recon.engine.assign as module

    saved = module.TEMPLATE_LIMIT
    module.TEMPLATE_LIMIT = 0  # force every general component through linear_sum_assignment
    try:
        left = np.array([e[0] for e in edges], np.int64)
        right = np.array([e[1] + 100 for e in edges], np.int64)
        score = np.array([e[2] for e in edges], float)
        result = assign(left, right, score)
    finally:
        module.TEMPLATE_LIMIT = saved
    chosen = result.edges.tolist()
    best, optimal = brute_force(left.tolist(), right.tolist(), score.tolist())
    assert int(edge_values(score)[chosen].sum()) == best
    for edge, tied in zip(chosen, result.tied.tolist(), strict=True):
        assert tied == any(edge not in option for option in optimal)
