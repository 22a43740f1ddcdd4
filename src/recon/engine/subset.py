"""Bounded subset-sum search on integer amounts (cents or finer units).

best_subset() finds a subset of 2..max_size values whose sum lies in [low, high], preferring fewer members,
then the smaller |sum - target|, then the lexicographically smallest index tuple (indices are in id order).
Up to DIRECT_LIMIT values every subset is enumerated at once; beyond that (at most MAX_CANDIDATES values)
the two halves are enumerated and combined by binary search (meet in the middle).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from itertools import combinations
from math import ceil, comb, floor

import numpy as np

from recon.engine.arrays import IntArray

MAX_CANDIDATES = 24
DIRECT_LIMIT = 14
_PAIR_LIMIT = 2_000_000
COMBINATION_LIMIT = 20_000  # subsets of 2..max_size members enumerated one by one above DIRECT_LIMIT


def sum_bounds(target: int, abs_units: int | None, pct: Decimal | None) -> tuple[int, int]:
    """[low, high] of sums within tolerance of target (pct: percent of the larger absolute value)."""
    if abs_units is not None:
        return target - abs_units, target + abs_units
    assert pct is not None
    q = Fraction(pct) / 100
    if target == 0 or q == 0:
        return target, target
    # |s - t| <= q * max(|s|, |t|) with s on t's side of zero: s in [t (1 - q), t / (1 - q)] (for t > 0)
    near, far = Fraction(target) * (1 - q), Fraction(target) / (1 - q)
    low, high = min(near, far), max(near, far)
    return ceil(low), floor(high)


@lru_cache(maxsize=32)
def _masks(n: int) -> tuple[IntArray, IntArray]:
    """(bit matrix [2^n, n], popcount) of every subset of n items."""
    masks = np.arange(1 << n, dtype=np.int64)
    bits = ((masks[:, None] >> np.arange(n)) & 1).astype(np.int64)
    return bits, bits.sum(axis=1)


def best_subset(
    values: IntArray, target: int, bounds: tuple[int, int], max_size: int
) -> tuple[int, ...] | None:
    n = len(values)
    if n < 2:
        return None
    if n <= DIRECT_LIMIT:
        return _direct(values, target, bounds, max_size)
    if sum(comb(n, k) for k in range(2, min(max_size, n) + 1)) <= COMBINATION_LIMIT:
        return _by_combinations(values, target, bounds, max_size)
    return _meet_in_the_middle(values, target, bounds, max_size)


@lru_cache(maxsize=64)
def _combinations(n: int, k: int) -> IntArray:
    """Every k-subset of range(n) as a row of indices, in lexicographic order."""
    return np.array(list(combinations(range(n), k)), np.int64).reshape(-1, k)


def _by_combinations(
    values: IntArray, target: int, bounds: tuple[int, int], max_size: int
) -> tuple[int, ...] | None:
    """Size by size over the k-subsets (24 candidates, at most 4 members: 13k subsets), fewest members
    first; the first in lexicographic order among the smallest differences."""
    low, high = bounds
    for wanted in range(2, min(max_size, len(values)) + 1):
        rows = _combinations(len(values), wanted)
        sums = values[rows].sum(axis=1)
        ok = (sums >= low) & (sums <= high)
        if not ok.any():
            continue
        diff = np.where(ok, np.abs(sums - target), np.iinfo(np.int64).max)
        return tuple(rows[int(np.argmin(diff))].tolist())
    return None


def _pick(candidates: list[tuple[int, ...]], values: IntArray, target: int) -> tuple[int, ...]:
    return min(candidates, key=lambda c: (len(c), abs(int(values[list(c)].sum()) - target), c))


def _direct(values: IntArray, target: int, bounds: tuple[int, int], max_size: int) -> tuple[int, ...] | None:
    bits, size = _masks(len(values))
    low, high = bounds
    for wanted in range(2, min(max_size, len(values)) + 1):  # fewest members first
        masks = np.flatnonzero(size == wanted)
        sums = bits[masks] @ values
        ok = (sums >= low) & (sums <= high)
        if not ok.any():
            continue
        diff = np.abs(sums - target)
        ok &= diff == diff[ok].min()
        options = [tuple(np.flatnonzero(bits[m]).tolist()) for m in masks[ok]]
        return _pick(options, values, target)
    return None


def _meet_in_the_middle(
    values: IntArray, target: int, bounds: tuple[int, int], max_size: int
) -> tuple[int, ...] | None:
    half = len(values) // 2
    a_bits, a_size = _masks(half)
    b_bits, b_size = _masks(len(values) - half)
    a_sums = a_bits @ values[:half]
    b_sums = b_bits @ values[half:]
    low, high = bounds
    for total in range(2, min(max_size, len(values)) + 1):
        options: list[tuple[int, ...]] = []
        best_diff: int | None = None
        for ka in range(max(0, total - (len(values) - half)), min(total, half) + 1):
            a_idx = np.flatnonzero(a_size == ka)
            b_idx = np.flatnonzero(b_size == total - ka)
            if len(a_idx) == 0 or len(b_idx) == 0:
                continue
            order = np.argsort(b_sums[b_idx], kind="stable")
            b_idx = b_idx[order]
            b_sorted = b_sums[b_idx]
            start = np.searchsorted(b_sorted, low - a_sums[a_idx], side="left")
            stop = np.searchsorted(b_sorted, high - a_sums[a_idx], side="right")
            counts = stop - start
            if counts.sum() == 0 or counts.sum() > _PAIR_LIMIT:
                continue
            owners = np.repeat(np.arange(len(a_idx)), counts)
            offsets = np.cumsum(counts) - counts
            positions = np.repeat(start - offsets, counts) + np.arange(int(counts.sum()))
            sums = a_sums[a_idx[owners]] + b_sorted[positions]
            diff = np.abs(sums - target)
            smallest = int(diff.min())
            if best_diff is not None and smallest > best_diff:
                continue
            if best_diff is None or smallest < best_diff:
                best_diff, options = smallest, []
            for k in np.flatnonzero(diff == smallest)[:1000]:
                left_part = np.flatnonzero(a_bits[a_idx[owners[k]]]).tolist()
                right_part = (np.flatnonzero(b_bits[b_idx[positions[k]]]) + half).tolist()
                options.append(tuple(left_part + right_part))
        if options:
            return _pick(options, values, target)
    return None


@lru_cache(maxsize=32)
def _lex_rank(n: int) -> IntArray:
    """Per mask: a rank, larger for subsets whose sorted index tuple comes first (among equal sizes):
    the mask's bits reversed, so the lowest index weighs most."""
    masks = np.arange(1 << n, dtype=np.int64)
    reversed_bits = np.zeros(1 << n, np.int64)
    for bit in range(n):
        reversed_bits |= ((masks >> bit) & 1) << (n - 1 - bit)
    return reversed_bits


def best_subsets(
    values: IntArray, targets: IntArray, lows: IntArray, highs: IntArray, max_size: int
) -> tuple[IntArray, IntArray]:
    """best_subset() for many blocks of the same size n <= DIRECT_LIMIT at once (rows of `values`).

    Returns per row the chosen subset as a bit mask (-1: none) and another subset of the same size whose sum
    is in the window too (-1: none), the best such by difference and index order. Sizes are tried from 2
    up, each over the rows without a subset of a smaller size (fewest members win): the subsets of 2..4 of
    14 values are 1,456 of 16,384 masks."""
    rows, n = values.shape
    bits, size = _masks(n)
    rank = _lex_rank(n)
    best = np.full(rows, -1, np.int64)
    rival = np.full(rows, -1, np.int64)
    pending = np.arange(rows, dtype=np.int64)
    high_value, low_value = np.iinfo(np.int64).max, np.iinfo(np.int64).min
    for wanted in range(2, min(max_size, n) + 1):
        if len(pending) == 0:
            break
        masks = np.flatnonzero(size == wanted)
        chosen_bits, chosen_rank = bits[masks].T, rank[masks]
        chunk = max(1, 2_000_000 // len(masks))
        solved = []
        for start in range(0, len(pending), chunk):
            at = pending[start : start + chunk]
            sums = values[at] @ chosen_bits  # (rows, masks of this size)
            ok = (sums >= lows[at, None]) & (sums <= highs[at, None])
            any_ok = ok.any(axis=1)
            if not any_ok.any():
                continue
            at, sums, ok = at[any_ok], sums[any_ok], ok[any_ok]
            diff = np.abs(sums - targets[at, None])
            smallest = np.where(ok, diff, high_value).min(axis=1)
            first = ok & (diff == smallest[:, None])
            pick = np.argmax(np.where(first, chosen_rank, low_value), axis=1)
            best[at] = masks[pick]
            others = ok
            others[np.arange(len(at)), pick] = False
            has_other = others.any(axis=1)
            other_diff = np.where(others, diff, high_value).min(axis=1)
            second = others & (diff == other_diff[:, None])
            other_pick = np.argmax(np.where(second, chosen_rank, low_value), axis=1)
            rival[at] = np.where(has_other, masks[other_pick], -1)
            solved.append(at)
        if solved:
            pending = np.setdiff1d(pending, np.concatenate(solved), assume_unique=True)
    return best, rival


def alternative_direct(
    values: IntArray, target: int, bounds: tuple[int, int], picked: tuple[int, ...]
) -> tuple[int, ...] | None:
    """search._alternative for at most DIRECT_LIMIT values with one enumeration instead of one per member:
    for each member m of `picked` in turn, best_subset(values without m, max_size=len(picked)); the first
    such subset of len(picked) members."""
    n, size_wanted = len(values), len(picked)
    bits, size = _masks(n)
    rank = _lex_rank(n)
    sums = bits @ values
    low, high = bounds
    ok = (size >= 2) & (size <= size_wanted) & (sums >= low) & (sums <= high)
    diff = np.abs(sums - target)
    for member in picked:
        without = ok & (bits[:, member] == 0)
        if not without.any() or int(size[without].min()) != size_wanted:
            continue
        without &= diff == diff[without].min()
        masks = np.flatnonzero(without)
        return mask_members(int(masks[np.argmax(rank[masks])]))
    return None


def mask_members(mask: int) -> tuple[int, ...]:
    return tuple(k for k in range(mask.bit_length()) if (mask >> k) & 1)


GROUP_SEARCH_LIMIT = 100_000  # subsets enumerated per half of a group in smallest_subsets
OPTION_CAP = 64  # subsets of the smallest size listed per target (all are counted)


@lru_cache(maxsize=256)
def _index_rows(n: int, k: int) -> IntArray:
    """Every k-subset of range(n) as rows of indices (lexicographic order); k = 0: one empty row.
    Built a column at a time: each row is followed by every larger index (rows stay in order)."""
    rows = np.zeros((1, 0), np.int64)
    if k == 0:
        return rows
    for column in range(k):
        last = rows[:, -1] if column else np.full(len(rows), -1, np.int64)
        # the remaining columns need k - column - 1 more indices after this one
        room = np.maximum(n - (k - column - 1) - (last + 1), 0)
        owner = np.repeat(np.arange(len(rows)), room)
        offsets = np.cumsum(room) - room
        nxt = np.repeat(last + 1 - offsets, room) + np.arange(int(room.sum()))
        rows = np.column_stack([rows[owner], nxt]) if column else nxt[:, None]
    return np.ascontiguousarray(rows, np.int64).reshape(-1, k)


def half_depth(n: int, max_size: int, limit: int = GROUP_SEARCH_LIMIT) -> int:
    """Members taken from one half of n records: at most max_size, and as many as keep the subsets
    enumerated in a half within `limit` (a half of 8 records: all of its subsets; of 30: up to 4 members;
    of 100: up to 2)."""
    half = n - n // 2
    depth = 0
    while depth < min(half, max_size) and sum(comb(half, j) for j in range(depth + 2)) <= limit:
        depth += 1
    return depth


def _stable_order(values: IntArray) -> IntArray:
    """np.argsort(values, kind="stable"), by sorting each value with its position as one number (about three
    times faster than the stable sort of int64); the stable sort itself when that could overflow."""
    n = len(values)
    if n == 0 or int(np.abs(values).max()) >= (1 << 62) // n:
        return np.argsort(values, kind="stable")
    keyed = values * n
    keyed += np.arange(n)
    keyed.sort()
    return keyed % n


class Rows:
    """The index rows (into a group's values) of a half's k-subsets, in the order of their sums: row p is
    made when it is read."""

    __slots__ = ("base", "order", "which")

    def __init__(self, base: IntArray, order: IntArray, which: int) -> None:
        self.base, self.order, self.which = base, order, which  # rows of the half's own indexes

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, position: int) -> IntArray:
        return self.base[self.order[position]] * 2 + self.which  # type: ignore[no-any-return]

    def rows(self, positions: IntArray) -> IntArray:
        """The rows at these positions, as one matrix."""
        return self.base[self.order[positions]] * 2 + self.which


class HalfSums:
    """The subsets of a group's two halves, by size, with their sums sorted: shared by every target that is
    looked for in the group. The halves interleave (records 0, 2, 4, ... and 1, 3, 5, ...): the members of
    one payment are often neighbours in the file, and split evenly between interleaved halves."""

    def __init__(self, values: IntArray, depth: int) -> None:
        self.values = values
        self.h = (len(values) + 1) // 2  # records in the first half
        self.depth = depth
        self._cache: dict[tuple[int, int], tuple[Rows, IntArray]] = {}
        ascending = np.sort(values)
        # the smallest and the largest sum of any k records: sizes whose range misses a target are skipped
        self.least = np.r_[0, np.cumsum(ascending)]
        self.most = np.r_[0, np.cumsum(ascending[::-1])]

    def part(self, which: int, k: int) -> tuple[Rows, IntArray]:
        """(index rows into values, sums), sorted by sum then index order, of the k-subsets of a half. The
        rows are read one at a time (Rows): only a target's few listed subsets need theirs."""
        key = (which, k)
        if key not in self._cache:
            size = self.h if which == 0 else len(self.values) - self.h
            base = _index_rows(size, k)
            half = self.values[which::2]
            sums = np.zeros(len(base), np.int64)
            for column in range(k):  # a column at a time: faster than a sum over rows of k members
                sums += half[base[:, column]]
            self._cache[key] = (Rows(base, order := _stable_order(sums), which), sums[order])
        return self._cache[key]

    def splits(self, size: int) -> list[tuple[int, Rows, IntArray, Rows, IntArray]]:
        """The ways to take `size` members, ka from the first half and size - ka from the second (at most
        `depth` from each, both parts non-empty): (ka, first rows, first sums, second rows, second sums)."""
        n, found = len(self.values), []
        for ka in range(max(0, size - self.depth), min(size, self.depth) + 1):
            kb = size - ka
            if ka > self.h or kb > n - self.h:
                continue
            a_rows, a_sums = self.part(0, ka)
            b_rows, b_sums = self.part(1, kb)
            if len(a_rows) and len(b_rows):
                found.append((ka, a_rows, a_sums, b_rows, b_sums))
        return found


def smallest_subsets(
    halves: HalfSums, target: int, bounds: tuple[int, int], max_size: int
) -> tuple[int, list[tuple[int, ...]]]:
    """All subsets of the fewest members (2..max_size, at most `halves.depth` from each half) whose sum lies
    in bounds: (how many there are, up to OPTION_CAP of them ordered by |sum - target| then index order).
    (0, []) when there is none."""
    low, high = bounds
    for size in range(2, min(max_size, len(halves.values)) + 1):
        if high < halves.least[size] or low > halves.most[size]:
            continue
        found: list[tuple[int, Rows, Rows, IntArray, IntArray]] = []
        total = 0
        for ka, a_rows, a_sums, b_rows, b_sums in halves.splits(size):
            start = np.searchsorted(b_sums, low - a_sums, side="left")
            stop = np.searchsorted(b_sums, high - a_sums, side="right")
            counts = stop - start
            hits = int(counts.sum())
            if hits:
                total += hits
                found.append((ka, a_rows, b_rows, start, counts))
        if total == 0:
            continue
        return total, _options(halves.values, target, found)
    return 0, []


def _options(
    values: IntArray, target: int, found: list[tuple[int, Rows, Rows, IntArray, IntArray]]
) -> list[tuple[int, ...]]:
    """Up to OPTION_CAP of the subsets found (per split of the size: the first half's rows, the second
    half's rows, and per first-half subset its range of second-half subsets), closest sum first."""
    options: list[tuple[int, ...]] = []
    for _ka, a_rows, b_rows, start, counts in found:
        for a in np.flatnonzero(counts).tolist():
            for b in range(int(start[a]), int(start[a] + counts[a])):
                options.append(tuple(sorted(a_rows[a].tolist() + b_rows[b].tolist())))
                if len(options) >= 4 * OPTION_CAP:
                    break
            if len(options) >= 4 * OPTION_CAP:
                break
    options.sort(key=lambda c: (abs(int(values[list(c)].sum()) - target), c))
    return options[:OPTION_CAP]


SEARCH_CELLS = 1 << 20  # (target, half subset) cells counted at once by smallest_subsets_many
PAIR_SUMS = 1 << 20  # sums of a split's two parts sorted once for all its targets (at most)


def smallest_subsets_many(
    halves: HalfSums, targets: IntArray, lows: IntArray, highs: IntArray, max_size: int
) -> list[tuple[int, list[tuple[int, ...]]]]:
    """smallest_subsets() for every target of one group at once (the same answers, in the order of
    `targets`): per size, the targets still without a subset are counted together (split_hits), and the
    subsets of those that have some are listed from their pairs of half subsets (split_pairs)."""
    result: list[tuple[int, list[tuple[int, ...]]]] = [(0, [])] * len(targets)
    pending = np.arange(len(targets))
    for size in range(2, min(max_size, len(halves.values)) + 1):
        if len(pending) == 0:
            break
        reach = (highs[pending] >= halves.least[size]) & (lows[pending] <= halves.most[size])
        sought = pending[reach]
        if len(sought) == 0:
            continue
        splits = halves.splits(size)
        if not splits:
            continue
        hits = [split_hits(a_sums, b_sums, lows[sought], highs[sought]) for _, _, a_sums, _, b_sums in splits]
        total = np.sum(hits, axis=0)
        for row in np.flatnonzero(total).tolist():
            k = int(sought[row])
            low, high = int(lows[k]), int(highs[k])
            found = [
                (a_rows, b_rows, *split_pairs(a_sums, b_sums, low, high))
                for (_, a_rows, a_sums, b_rows, b_sums), counts in zip(splits, hits, strict=True)
                if counts[row]
            ]
            result[k] = (int(total[row]), _listed(halves.values, int(targets[k]), found))
        solved = sought[total > 0]
        if len(solved):
            pending = np.setdiff1d(pending, solved, assume_unique=True)
    return result


def split_hits(a_sums: IntArray, b_sums: IntArray, lows: IntArray, highs: IntArray) -> IntArray:
    """Per window [lows[t], highs[t]]: how many pairs (a, b) of the two sorted sum arrays have a + b in it.
    The cheaper of two ways: every pair's sum sorted once (a small split, many windows), or per window a
    binary search for each sum of the smaller part in the larger one (the count is symmetric: a group's
    single members searched among its subsets of four, not the other way round)."""
    small, large = (a_sums, b_sums) if len(a_sums) <= len(b_sums) else (b_sums, a_sums)
    pairs = len(small) * len(large)
    if pairs <= PAIR_SUMS and pairs <= len(lows) * len(small) * 4:
        sums = np.sort((small[:, None] + large[None, :]).ravel())
        return np.searchsorted(sums, highs, side="right") - np.searchsorted(sums, lows, side="left")
    hits = np.zeros(len(lows), np.int64)
    chunk = max(1, SEARCH_CELLS // max(len(small), 1))
    for begin in range(0, len(lows), chunk):
        low, high = lows[begin : begin + chunk, None], highs[begin : begin + chunk, None]
        counts = np.searchsorted(large, high - small[None, :], side="right")
        counts -= np.searchsorted(large, low - small[None, :], side="left")
        hits[begin : begin + chunk] = counts.sum(axis=1)
    return hits


def split_pairs(a_sums: IntArray, b_sums: IntArray, low: int, high: int) -> tuple[IntArray, IntArray]:
    """(a, b) positions of the pairs with a_sums[a] + b_sums[b] in [low, high], ordered by a then b (the
    order smallest_subsets meets them in), found from the smaller of the two parts."""
    a_first = len(a_sums) <= len(b_sums)
    small, large = (a_sums, b_sums) if a_first else (b_sums, a_sums)
    start = np.searchsorted(large, low - small, side="left")
    counts = np.searchsorted(large, high - small, side="right") - start
    owner = np.repeat(np.arange(len(small)), counts)
    offsets = np.cumsum(counts) - counts
    other = np.repeat(start - offsets, counts) + np.arange(int(counts.sum()))
    if a_first:
        return owner, other
    order = np.lexsort((owner, other))
    return other[order], owner[order]


def _listed(
    values: IntArray, target: int, found: list[tuple[Rows, Rows, IntArray, IntArray]]
) -> list[tuple[int, ...]]:
    """_options from the pairs of each split (first half's rows, second half's rows, pair positions in
    each): the same subsets met in the same order, so the same OPTION_CAP are kept."""
    met: list[IntArray] = []
    listed = 0
    for a_rows, b_rows, a_pairs, b_pairs in found:
        # as _options: every split with pairs adds at least its first one
        take = max(1, 4 * OPTION_CAP - listed)
        a_at, b_at = a_pairs[:take], b_pairs[:take]
        met.append(np.concatenate([a_rows.rows(a_at), b_rows.rows(b_at)], axis=1))
        listed += len(a_at)
    members = np.sort(np.concatenate(met), axis=1)
    gaps = np.abs(values[members].sum(axis=1) - target)
    # (gap, members): the members of two subsets differ, so this is _options' order
    ranked = sorted(zip(gaps.tolist(), map(tuple, members.tolist()), strict=True))
    return [option for _, option in ranked[:OPTION_CAP]]


COVER_NODES = 20_000  # search steps per group in exact_covers before it gives up (None)
COVER_LIMIT = 32  # covers (distinct in amounts) enumerated per group before it gives up (None)
PARTIAL_NODES = 5_000  # search steps of a partial split (members may be left out: a wider search)


class _Stop(Exception):
    """The cover search ran out of steps or found too many covers."""


LINE_SETS = 64  # sets of lines whose targets can add up to a group's total, in exact_covers (at most)


def line_sets(total: int, lows: list[int], highs: list[int], members: int, max_size: int) -> list[int] | None:
    """The sets of lines (bit masks) whose sum windows add up to a window holding `total` and that can
    take `members` members (2..max_size each): every line of a cover is in such a set. Meet in the middle
    over the two halves of the lines (2^12 sums a half at 24 lines). None when more than LINE_SETS."""
    m = len(lows)
    half = m // 2
    low_a, low_b = np.array(lows[:half], np.int64), np.array(lows[half:], np.int64)
    high_a, high_b = np.array(highs[:half], np.int64), np.array(highs[half:], np.int64)
    bits_a, size_a = _masks(half)
    bits_b, size_b = _masks(m - half)
    a_low, a_high = bits_a @ low_a, bits_a @ high_a
    b_low, b_high = bits_b @ low_b, bits_b @ high_b
    # a set fits when low(a) + low(b) <= total <= high(a) + high(b); both bounds at once are a 2-D
    # question: sort b by its low sum, take every b with low(b) <= total - low(a), then check the highs
    order = np.argsort(b_low, kind="stable")
    b_low, b_high, b_masks = b_low[order], b_high[order], order
    stop = np.searchsorted(b_low, total - a_low, side="right")
    if int(stop.sum()) > 4_000_000:
        return None
    owner = np.repeat(np.arange(len(a_low)), stop)
    offsets = np.cumsum(stop) - stop
    position = np.arange(int(stop.sum())) - np.repeat(offsets, stop)
    fits = a_high[owner] + b_high[position] >= total
    count = size_a[owner] + size_b[b_masks[position]]
    fits &= (count >= 1) & (2 * count <= members) & (count * max_size >= members)
    if int(fits.sum()) > LINE_SETS:
        return None
    masks = owner[fits] | (b_masks[position[fits]] << half)
    return sorted(int(mask) for mask in masks)


def exact_covers(
    values: list[int],
    lows: list[int],
    highs: list[int],
    max_size: int,
    *,
    nodes: int = COVER_NODES,
    limit: int = COVER_LIMIT,
    partial: bool = False,
) -> list[dict[int, tuple[int, ...]]] | None:
    """Every way to split ALL of `values` (a group's open members) among some of the lines (line j takes
    2..max_size members whose sum lies in [lows[j], highs[j]], each member goes to exactly one line; lines
    may stay out): a list of covers, line -> member indices (sorted), in a fixed order. Covers that differ
    only by exchanging members of equal amount are listed once (the exchange is left to the caller).
    [] when no cover exists; None when the search needed more than `nodes` steps or found more than
    `limit` covers (too many to tell anything).

    The lines of a cover add up to the members' total: the search runs once per set of lines that can
    (line_sets(), every line of the set used; None beyond LINE_SETS sets or 24 lines). In it, the member of
    the largest amount not yet covered is placed first, in every line of the set in turn, with every subset
    of the other uncovered members that completes that line's sum (a subset search pruned by the smallest
    and largest sum k of the remaining members can reach); so each cover is met once.

    `partial`: a partial split instead: EVERY line takes a share and members may be left out (a group whose
    members are not all paid by its lines). The members left out make the rest of the total, a window
    known in advance (total - the lines' windows): the search places each member in a line or, as its last
    choice, leaves it out while that window can still be met."""
    n, m = len(values), len(lows)
    total = sum(values)
    out_low, out_high = total - sum(highs), total - sum(lows)
    if partial:
        sets: list[int] | None = None if m > 24 else [(1 << m) - 1] if 2 * m <= n else []
    else:
        sets = line_sets(total, lows, highs, n, max_size) if m <= 24 else None
    if sets is None:
        return None
    # the least and most the members not yet placed can add to the members left out (partial splits)
    negatives, positives = sum(v for v in values if v < 0), sum(v for v in values if v > 0)
    out = [0, negatives, positives]  # sum left out so far, reach of the unplaced members below and above
    order = sorted(range(n), key=lambda k: (-abs(values[k]), k))
    allowed = [False] * m
    covered = [False] * n
    used = [False] * m
    chosen: dict[int, tuple[int, ...]] = {}
    covers: list[dict[int, tuple[int, ...]]] = []
    seen: set[tuple[tuple[int, tuple[int, ...]], ...]] = set()
    steps = [0]

    def step() -> None:
        steps[0] += 1
        if steps[0] > nodes:
            raise _Stop

    def completions(first: int, low: int, high: int) -> list[tuple[int, ...]]:
        """Subsets (1..max_size - 1 members, value-distinct) of the uncovered members but `first` whose sum
        lies in [low, high] (completions_walk)."""
        rest = sorted((k for k in range(n) if not covered[k] and k != first), key=lambda k: (values[k], k))
        window = (low - values[first], high - values[first])
        found, taken = completions_walk([values[k] for k in rest], window, max_size - 1, nodes - steps[0])
        steps[0] += taken
        if steps[0] > nodes:
            raise _Stop
        return [tuple(rest[q] for q in picked) for picked in found]

    def place(k: int, sign: int) -> None:
        """Account for member k being placed (sign 1) or taken back (sign -1) in the out window's reach."""
        value = values[k]
        if value < 0:
            out[1] -= sign * value
        else:
            out[2] -= sign * value

    def search() -> None:
        step()
        first = next((k for k in order if not covered[k]), None)
        unused = sum(1 for j in range(m) if allowed[j] and not used[j])
        if partial and not (out_low <= out[0] + out[2] and out[0] + out[1] <= out_high):
            return  # the members left out can no longer make the rest of the total
        if first is None and unused == 0 and (not partial or out_low <= out[0] <= out_high):
            key = tuple(sorted((j, tuple(sorted(values[k] for k in s))) for j, s in chosen.items()))
            if key not in seen:
                seen.add(key)
                covers.append(dict(sorted(chosen.items())))
                if len(covers) > limit:
                    raise _Stop
            return
        if first is None:
            return
        left = sum(1 for k in range(n) if not covered[k])
        if (left > max_size * unused and not partial) or left < 2 * unused:
            return
        for j in range(m):
            if used[j] or not allowed[j]:
                continue
            for extra in completions(first, lows[j], highs[j]):
                members = (first, *extra)
                for k in members:
                    covered[k] = True
                    place(k, 1)
                used[j] = True
                chosen[j] = tuple(sorted(members))
                search()
                del chosen[j]
                used[j] = False
                for k in members:
                    covered[k] = False
                    place(k, -1)
        if partial:  # leave `first` out
            covered[first] = True
            place(first, 1)
            out[0] += values[first]
            search()
            out[0] -= values[first]
            place(first, -1)
            covered[first] = False

    try:
        for mask in sets:
            for j in range(m):
                allowed[j] = bool((mask >> j) & 1)
            search()
    except _Stop:
        return None
    return covers


def completions_walk(
    vals: list[int], window: tuple[int, int], room: int, budget: int
) -> tuple[list[tuple[int, ...]], int]:
    """The walk of exact_covers' completions over `vals` (ascending): (the position tuples whose sum lies in
    `window`, 1..room members, value-distinct, in the depth-first walk's order; the walk's nodes). A node
    (members picked so far) takes as next member each start q after its last member that is not an equal
    amount's repeat and from which some count j <= room of members can reach the window (the j from q sum
    to at most its high end, the j largest to at least its low end); a start whose every such sum exceeds
    the high end ends the node's starts. Returns early once the nodes exceed `budget` (the caller gives
    up): the nodes are counted level by level on arrays, the nodes of a level at once (a crowded group's
    walk has thousands of nodes: one Python call each took ~60 ms a group to give up)."""
    size = len(vals)
    values = np.asarray(vals, np.int64)
    prefix = np.r_[0, np.cumsum(values)]
    counts = np.arange(1, room + 1)
    starts = np.arange(size)
    fits = counts[None, :] <= (size - starts)[:, None]  # j members from q exist
    least = prefix[np.minimum(starts[:, None] + counts[None, :], size)] - prefix[starts][:, None]
    largest = np.cumsum(np.sort(values)[::-1])[:room] if size else np.zeros(0, np.int64)
    most = np.r_[largest, np.full(max(room - len(largest), 0), largest[-1] if size else 0)]
    repeat = np.r_[False, values[1:] == values[:-1]] if size else np.zeros(0, bool)
    width = window[1] - window[0]
    ascending = size == 0 or int(values[0]) >= 0  # no negative amount (the usual group)
    # the nodes of the current level: first start allowed, low end still to reach, and (parent, member)
    first, low = np.zeros(1, np.int64), np.array([window[0]], np.int64)
    levels: list[tuple[IntArray, IntArray, IntArray]] = []  # per level below the root: (parent, q, low)
    nodes = 1
    for left in range(room, 0, -1):
        if len(first) == 0 or size == 0:
            break
        high = low + width
        if ascending:
            # the least sum of j members from q grows with j, the most of j members too: the fewest j
            # whose most reaches the low end is the one to test, and a start is below when it alone is
            fewest = np.searchsorted(most[:left], low, side="left")  # j - 1; left: no j reaches
            at = np.minimum(fewest, left - 1)
            reach = (fewest < left)[:, None] & fits[:, at].T & (high[:, None] >= least[:, at].T)
            below = values[None, :] > high[:, None]
        else:
            j = slice(0, left)
            under = fits[None, :, j] & (least[None, :, j] <= high[:, None, None])
            reach = (under & (most[None, None, j] >= low[:, None, None])).any(axis=2)
            below = ~under.any(axis=2)
        after = starts[None, :] >= first[:, None]
        candidate = after & ~(repeat[None, :] & (starts[None, :] > first[:, None]))
        stops = candidate & below
        stop = np.where(stops.any(axis=1), stops.argmax(axis=1), size)
        take = candidate & reach & (starts[None, :] < stop[:, None])
        parent, q = np.nonzero(take)
        low = low[parent] - values[q]
        first = q + 1
        levels.append((parent, q, low))
        nodes += len(q)
        if nodes > budget:
            return [], nodes
    found = []
    for depth, (_, _, lows) in enumerate(levels):
        for end in np.flatnonzero((lows <= 0) & (lows + width >= 0)).tolist():
            picked, node = [], end
            for back in range(depth, -1, -1):
                parent, q, _ = levels[back]
                picked.append(int(q[node]))
                node = int(parent[node])
            found.append(tuple(reversed(picked)))
    found.sort()  # depth first, starts ascending: a prefix before its extensions, then by member
    return found, nodes
