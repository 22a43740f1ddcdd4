"""The in-group subset search: the many-targets form gives the answers of the one-target form."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from recon.engine import subset
from recon.engine.subset import HalfSums, half_depth, smallest_subsets, smallest_subsets_many, sum_bounds


@pytest.mark.parametrize("n", [0, 1, 2, 5, 9, 16, 31, 64, 130])
def test_index_rows_are_the_combinations_in_order(n: int) -> None:
    for k in range(5):
        rows = list(combinations(range(n), k))
        expected = np.array(rows, np.int64).reshape(-1, k) if k else np.zeros((1, 0))
        assert np.array_equal(subset._index_rows(n, k), expected)


@pytest.mark.parametrize("seed", range(12))
def test_many_targets_answer_as_one_target_each(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    # round, repeated amounts (many ways to make a sum) and a few negative ones
    round_amounts = [500, 1000, 1250, 2000, 2500, 9999, -700]
    drawn = rng.choice(round_amounts, n) if seed % 2 else rng.integers(-500, 90_000, n)
    values = np.asarray(drawn, np.int64)
    max_size = int(rng.integers(2, 8))
    halves = HalfSums(values, half_depth(n, max_size, limit=5_000))
    picks = [rng.choice(n, size=int(rng.integers(2, max_size + 1)), replace=False) for _ in range(30)]
    targets = np.array([int(values[p].sum()) + int(rng.integers(-2, 3)) for p in picks] + [10**9], np.int64)
    tolerance = int(rng.integers(0, 3))
    lows, highs = targets - tolerance, targets + tolerance
    monkeypatch.setattr(subset, "SEARCH_CELLS", 97)  # several blocks of targets
    many = smallest_subsets_many(halves, targets, lows, highs, max_size)
    for k, target in enumerate(targets.tolist()):
        assert many[k] == smallest_subsets(halves, target, sum_bounds(target, tolerance, None), max_size)
    assert many[-1] == (0, [])


@pytest.mark.parametrize("seed", range(8))
def test_reachable_range_holds_every_sum_that_meets_a_target(seed: int) -> None:
    """groups._reachable (the join's filter of the search inside groups): every target some subset of 2..max
    open members meets within the tolerance lies inside its group's range."""
    from decimal import Decimal

    from recon.engine.found import Membership
    from recon.engine.groups import _reachable

    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 9, 6)
    groups = np.repeat(np.cumsum(sizes) - sizes, sizes)  # a group is named by its first record
    values = rng.integers(-3_000, 90_000, len(groups)).astype(np.int64)
    open_mask = rng.random(len(groups)) < 0.8
    leaders = np.unique(groups)
    max_size = int(rng.integers(2, 6))
    for tolerance in ((int(rng.integers(0, 50)), None), (None, Decimal("2.5"))):
        low, high = _reachable(
            leaders,
            Membership(groups, np.arange(len(groups))),
            lambda rids: values[rids],
            open_mask,
            max_size=max_size,
            tolerance=tolerance,
        )
        for k, leader in enumerate(leaders.tolist()):
            members = [r for r in np.flatnonzero(groups == leader).tolist() if open_mask[r]]
            for size in range(2, max_size + 1):
                for chosen in combinations(members, size):
                    total = int(values[list(chosen)].sum())
                    target_low, target_high = sum_bounds(total, tolerance[0], tolerance[1])
                    if tolerance[1] is not None:  # the targets within pct of this sum, both ways round
                        target_low, target_high = sorted((total * 0.975, total / 0.975))
                    assert low[k] <= target_low and target_high <= high[k]


@pytest.mark.parametrize("pair_sums", [0, 1 << 30])
def test_split_hits_count_every_pair_either_way(pair_sums: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ways of counting (every pair's sum sorted once, or a search per window) count the pairs."""
    monkeypatch.setattr(subset, "PAIR_SUMS", pair_sums)
    monkeypatch.setattr(subset, "SEARCH_CELLS", 7)
    rng = np.random.default_rng(3)
    a = np.sort(rng.choice([0, 500, 1000, 1500, 2500], 40)).astype(np.int64)
    b = np.sort(rng.choice([0, 500, 1000, 2000], 9)).astype(np.int64)
    lows = rng.integers(-100, 4_000, 25).astype(np.int64)
    highs = lows + rng.integers(0, 600, 25)
    every = (a[:, None] + b[None, :]).ravel()
    expected = [int(((every >= lo) & (every <= hi)).sum()) for lo, hi in zip(lows, highs, strict=True)]
    assert subset.split_hits(a, b, lows, highs).tolist() == expected
    assert subset.split_hits(b, a, lows, highs).tolist() == expected
    for lo, hi in zip(lows.tolist(), highs.tolist(), strict=True):
        pairs = sorted((i, j) for i in range(len(a)) for j in range(len(b)) if lo <= a[i] + b[j] <= hi)
        a_at, b_at = subset.split_pairs(a, b, lo, hi)
        assert list(zip(a_at.tolist(), b_at.tolist(), strict=True)) == pairs
        b_at, a_at = subset.split_pairs(b, a, lo, hi)
        assert sorted(zip(a_at.tolist(), b_at.tolist(), strict=True)) == pairs


def test_stable_order_is_the_stable_argsort() -> None:
    rng = np.random.default_rng(5)
    for values in (
        rng.choice([-1500, 0, 500, 500, 2000], 1000).astype(np.int64),
        np.array([2**61, -(2**61), 3, 3, 2**61], np.int64),  # too large to key with positions
        np.zeros(0, np.int64),
    ):
        assert np.array_equal(subset._stable_order(values), np.argsort(values, kind="stable"))


def _walk_reference(vals: list[int], window: tuple[int, int], room: int) -> tuple[list[tuple[int, ...]], int]:
    """exact_covers' completions as it walked them, one node a call (before completions_walk)."""
    size, found, picked, nodes = len(vals), [], [], [0]
    suffix_most = [0] * (room + 2)
    for j in range(1, room + 2):
        suffix_most[j] = suffix_most[j - 1] + (vals[size - j] if j <= size else 0)

    def walk(p: int, lo: int, hi: int, left: int) -> None:
        nodes[0] += 1
        if picked and lo <= 0 <= hi:
            found.append(tuple(picked))
        if left == 0:
            return
        for q in range(p, size):
            if q > p and vals[q] == vals[q - 1]:
                continue
            least, reachable, below = 0, False, True
            for j in range(1, min(left, size - q) + 1):
                least += vals[q + j - 1]
                if least <= hi:
                    below = False
                    if suffix_most[j] >= lo:
                        reachable = True
                        break
            if below:
                break
            if reachable:
                picked.append(q)
                walk(q + 1, lo - vals[q], hi - vals[q], left - 1)
                picked.pop()

    walk(0, window[0], window[1], room)
    return found, nodes[0]


@pytest.mark.parametrize("seed", range(40))
def test_completions_walk_is_the_walk(seed: int) -> None:
    """The level-by-level walk finds the completions of the node-by-node one, in its order, with its node
    count (the steps exact_covers gives up by); round amounts, repeats, and negative ones in odd seeds."""
    rng = np.random.default_rng(seed)
    size = int(rng.integers(0, 22))
    pool = [500, 500, 1000, 1500, 2000, 2500, 4000] + ([-700, -1500] if seed % 2 else [])
    vals = sorted(int(v) for v in rng.choice(pool, size))
    room = int(rng.integers(1, 7))
    center = int(rng.integers(-2000, 9000))
    window = (center - int(rng.integers(0, 3)), center + int(rng.integers(0, 3)))
    expected, nodes = _walk_reference(vals, window, room)
    assert subset.completions_walk(vals, window, room, 10**9) == (expected, nodes)
    if nodes > 1:
        _, counted = subset.completions_walk(vals, window, room, nodes - 1)
        assert counted > nodes - 1  # over the budget: the caller gives up, as after walking nodes - 1 steps
