"""Best-total-score assignment of candidate edges, each node used at most once, with tie detection.

The candidate graph is split into connected components (scipy); every component is solved exactly:
- a single edge is taken as is;
- a star (one node on one side) takes its best edge;
- small components are solved by enumerating every partial assignment, vectorised per shape;
- larger ones by scipy.optimize.linear_sum_assignment, one component at a time;
- only components beyond GREEDY_NODES nodes fall back to a deterministic greedy (best edge first) and say so.

The objective is the total score, ties between equal totals broken towards more pairs, then towards the
first assignment in a fixed order (lower node ids first). A chosen edge is `tied` when another optimal
assignment does without it; a node left out that some optimal assignment uses is `ambiguous` (it lost
only because of a tie).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from recon.engine.arrays import BoolArray, FloatArray, IntArray

SCORE_UNITS = 1_000_000  # scores are compared in millionths, so equal scores tie exactly
PAIR_BONUS = 1  # added per pair (scores are scaled by 1024) so that equal totals prefer more pairs
TEMPLATE_LIMIT = 5000
EXACT_TIE_CELLS = 2500  # LSA components up to this many cells get the exact re-solve tie check
GREEDY_NODES = 3000
_ABSENT = -(1 << 50)


@dataclass
class Assignment:
    edges: IntArray  # indices of chosen edges, ascending
    tied: BoolArray  # per chosen edge
    greedy: BoolArray  # per chosen edge: decided by the greedy fallback
    ambiguous_left: IntArray  # left node ids that lost only because of a tie
    ambiguous_right: IntArray


def edge_values(score: FloatArray) -> IntArray:
    return np.rint(np.clip(score, 0.0, 1.0) * SCORE_UNITS).astype(np.int64) * 1024 + PAIR_BONUS


def assign(left: IntArray, right: IntArray, score: FloatArray) -> Assignment:
    """Assignment over unique (left, right) candidate edges with scores in [0, 1]."""
    n_edges = len(left)
    out = _Collector()
    if n_edges == 0:
        return out.result(left, right)
    value = edge_values(score)
    left_nodes, li = np.unique(left, return_inverse=True)
    right_nodes, ri = np.unique(right, return_inverse=True)
    li, ri = li.astype(np.int64), ri.astype(np.int64)
    deg_l = np.bincount(li, minlength=len(left_nodes))
    deg_r = np.bincount(ri, minlength=len(right_nodes))
    single = (deg_l[li] == 1) & (deg_r[ri] == 1)
    out.take(np.flatnonzero(single))
    rest = np.flatnonzero(~single)
    if len(rest) == 0:
        return out.result(left, right)
    n_l = len(left_nodes)
    size = n_l + len(right_nodes)
    graph = coo_matrix((np.ones(len(rest)), (li[rest], n_l + ri[rest])), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    comp = labels[li[rest]].astype(np.int64)
    # number of distinct left / right nodes per component (each node belongs to one component)
    n_comp = int(labels.max()) + 1
    a = np.bincount(labels[np.unique(li[rest])], minlength=n_comp)
    b = np.bincount(labels[n_l + np.unique(ri[rest])], minlength=n_comp)
    ca, cb = a[comp], b[comp]
    solver = _Solver(out, value, li, ri)
    solver.stars(rest[ca == 1], comp[ca == 1], side="left")
    solver.stars(rest[(cb == 1) & (ca > 1)], comp[(cb == 1) & (ca > 1)], side="right")
    general = (ca > 1) & (cb > 1)
    if general.any():
        solver.general(rest[general], comp[general])
    return out.result(left, right)


class _Collector:
    def __init__(self) -> None:
        self.edges: list[IntArray] = []
        self.tied: list[BoolArray] = []
        self.greedy: list[BoolArray] = []
        self.amb_l: list[IntArray] = []  # compact indices, mapped to ids in result()
        self.amb_r: list[IntArray] = []
        self.amb_l_edges: list[IntArray] = []  # given as edge indices (node = left of that edge)
        self.amb_r_edges: list[IntArray] = []

    def take(self, edges: IntArray, tied: BoolArray | None = None, greedy: bool = False) -> None:
        self.edges.append(edges.astype(np.int64))
        self.tied.append(np.zeros(len(edges), bool) if tied is None else tied.astype(bool))
        self.greedy.append(np.full(len(edges), greedy))

    def result(self, left: IntArray, right: IntArray) -> Assignment:
        edges = np.concatenate(self.edges) if self.edges else np.zeros(0, np.int64)
        tied = np.concatenate(self.tied) if self.tied else np.zeros(0, bool)
        greedy = np.concatenate(self.greedy) if self.greedy else np.zeros(0, bool)
        order = np.argsort(edges, kind="stable")
        amb_l = np.concatenate([np.zeros(0, np.int64), *[left[e] for e in self.amb_l_edges]])
        amb_r = np.concatenate([np.zeros(0, np.int64), *[right[e] for e in self.amb_r_edges]])
        if len(amb_l):
            amb_l = np.setdiff1d(amb_l, left[edges])
        if len(amb_r):
            amb_r = np.setdiff1d(amb_r, right[edges])
        return Assignment(
            edges=edges[order],
            tied=tied[order],
            greedy=greedy[order],
            ambiguous_left=amb_l,
            ambiguous_right=amb_r,
        )


class _Solver:
    """Solves the non-trivial components; results go to the collector."""

    def __init__(self, out: _Collector, value: IntArray, li: IntArray, ri: IntArray) -> None:
        self.out, self.value, self.li, self.ri = out, value, li, ri

    def stars(self, edges: IntArray, comp: IntArray, side: str) -> None:
        """Components with one hub node: take its best edge (lowest other-node index on equal value)."""
        if len(edges) == 0:
            return
        other = self.ri if side == "left" else self.li
        value = self.value
        order = np.lexsort((other[edges], -value[edges], comp))
        edges, comp = edges[order], comp[order]
        first = np.ones(len(edges), bool)
        first[1:] = comp[1:] != comp[:-1]
        best = np.repeat(value[edges[first]], np.diff(np.append(np.flatnonzero(first), len(edges))))
        at_best = value[edges] == best
        ties = np.bincount(np.cumsum(first) - 1, weights=at_best)
        self.out.take(edges[first], ties >= 2)
        losers = edges[at_best & ~first]
        (self.out.amb_r_edges if side == "left" else self.out.amb_l_edges).append(losers)

    def general(self, edges: IntArray, comp: IntArray) -> None:
        order = np.lexsort((self.ri[edges], self.li[edges], comp))
        edges, comp = edges[order], comp[order]
        starts = np.flatnonzero(np.r_[True, comp[1:] != comp[:-1]])
        bounds = np.append(starts, len(edges))
        # local node indices within each component (ranked by compact node index = by node id)
        local_l = _local_rank(comp, self.li[edges])
        local_r = _local_rank(comp, self.ri[edges])
        a = np.maximum.reduceat(local_l, starts) + 1
        b = np.maximum.reduceat(local_r, starts) + 1
        counts = [_template_count(min(x, y), max(x, y)) for x, y in zip(a.tolist(), b.tolist(), strict=True)]
        small = np.array(counts) <= TEMPLATE_LIMIT
        shapes: dict[tuple[int, int], list[int]] = {}
        for k in np.flatnonzero(small).tolist():
            shapes.setdefault((int(a[k]), int(b[k])), []).append(k)
        local = _Local(edges, bounds, local_l, local_r)
        for shape, members in shapes.items():
            self.enumerate_shape(local, np.array(members, np.int64), shape)
        for k in np.flatnonzero(~small).tolist():
            lo, hi = bounds[k], bounds[k + 1]
            part = _Local(edges[lo:hi], np.array([0, hi - lo]), local_l[lo:hi], local_r[lo:hi])
            self.solve_component(part, int(a[k]), int(b[k]))

    def enumerate_shape(self, local: _Local, members: IntArray, shape: tuple[int, int]) -> None:
        na, nb = shape
        transpose = na > nb
        rows, cols = (nb, na) if transpose else (na, nb)
        templates = _templates(rows, cols)
        uses_col = np.zeros((len(templates), cols), bool)
        for i in range(rows):
            assigned = templates[:, i] < cols
            uses_col[np.flatnonzero(assigned), templates[assigned, i]] = True
        chunk = max(1, 4_000_000 // len(templates))
        for start in range(0, len(members), chunk):
            part = members[start : start + chunk]
            n = len(part)
            weight = np.full((n, rows, cols + 1), _ABSENT, np.int64)
            weight[:, :, cols] = 0
            edge_at = np.full((n, rows, cols), -1, np.int64)
            lengths = local.bounds[part + 1] - local.bounds[part]
            owner = np.repeat(np.arange(n), lengths)
            offsets = np.cumsum(lengths) - lengths
            idx = np.repeat(local.bounds[part] - offsets, lengths) + np.arange(int(lengths.sum()))
            row_of, col_of = (local.r[idx], local.l[idx]) if transpose else (local.l[idx], local.r[idx])
            weight[owner, row_of, col_of] = self.value[local.edges[idx]]
            edge_at[owner, row_of, col_of] = local.edges[idx]
            totals = np.zeros((n, len(templates)), np.int64)
            for i in range(rows):
                totals += weight[:, i, :][:, templates[:, i]]
            optimal = totals == totals.max(axis=1, keepdims=True)
            chosen_cols = templates[np.argmax(optimal, axis=1)]  # (n, rows)
            used = np.zeros((n, cols), bool)
            for i in range(rows):
                col = chosen_cols[:, i]
                assigned = col < cols
                alternative = np.any(optimal & (templates[None, :, i] != col[:, None]), axis=1)
                if assigned.any():
                    hit = np.flatnonzero(assigned)
                    self.out.take(edge_at[hit, i, col[assigned]], alternative[assigned])
                    used[hit, col[assigned]] = True
                amb_rows = ~assigned & np.any(optimal & (templates[None, :, i] < cols), axis=1)
                self.mark(edge_at[amb_rows, i, :], right_side=transpose)
            amb_cols = ~used & ((optimal.astype(np.int64) @ uses_col.astype(np.int64)) > 0)
            for j in range(cols):
                self.mark(edge_at[amb_cols[:, j], :, j], right_side=not transpose)

    def mark(self, edge_rows: IntArray, right_side: bool) -> None:
        """Record the node of each row of edge indices (any present edge identifies it) as ambiguous."""
        if len(edge_rows) == 0:
            return
        present = edge_rows.max(axis=1)  # every node of a component has at least one edge
        (self.out.amb_r_edges if right_side else self.out.amb_l_edges).append(present[present >= 0])

    def solve_component(self, local: _Local, na: int, nb: int) -> None:
        from scipy.optimize import linear_sum_assignment  # heavy import (~0.6 s), rarely needed

        edges, local_l, local_r = local.edges, local.l, local.r
        if na + nb > GREEDY_NODES:
            self.greedy(local)
            return
        matrix = np.zeros((na, nb))
        edge_at = np.full((na, nb), -1, np.int64)
        matrix[local_l, local_r] = self.value[edges]
        edge_at[local_l, local_r] = edges
        rows, cols = linear_sum_assignment(matrix, maximize=True)
        keep = edge_at[rows, cols] >= 0
        rows, cols = rows[keep], cols[keep]
        total = matrix[rows, cols].sum()
        if na * nb > EXACT_TIE_CELLS:
            self.out.take(edge_at[rows, cols], _local_ties(local, self.value, edge_at[rows, cols]))
            return
        tied = np.zeros(len(rows), bool)
        for k, (r, c) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True)):
            saved, matrix[r, c] = matrix[r, c], 0.0
            alt_rows, alt_cols = linear_sum_assignment(matrix, maximize=True)
            alt_keep = matrix[alt_rows, alt_cols] > 0
            alt_total = matrix[alt_rows, alt_cols].sum()
            matrix[r, c] = saved
            if alt_total == total:
                tied[k] = True
                extra_l = np.setdiff1d(alt_rows[alt_keep], rows)
                extra_r = np.setdiff1d(alt_cols[alt_keep], cols)
                self.out.amb_l_edges.append(edge_at[extra_l].max(axis=1))
                self.out.amb_r_edges.append(edge_at[:, extra_r].max(axis=0))
        self.out.take(edge_at[rows, cols], tied)

    def greedy(self, local: _Local) -> None:
        edges, local_l, local_r = local.edges, local.l, local.r
        order = np.lexsort((local_r, local_l, -self.value[edges]))
        used_l: set[int] = set()
        used_r: set[int] = set()
        chosen: list[int] = []
        for k in order.tolist():
            lnode, rnode = int(local_l[k]), int(local_r[k])
            if lnode not in used_l and rnode not in used_r:
                used_l.add(lnode)
                used_r.add(rnode)
                chosen.append(k)
        picked = edges[np.array(chosen, np.int64)]
        self.out.take(picked, _local_ties(local, self.value, picked), greedy=True)


@dataclass
class _Local:
    """Edges of one or more components sorted by component, with component-local node ranks."""

    edges: IntArray
    bounds: IntArray  # component k spans edges[bounds[k]:bounds[k + 1]]
    l: IntArray  # noqa: E741
    r: IntArray


def _local_ties(local: _Local, value: IntArray, chosen: IntArray) -> BoolArray:
    """Cheap tie rule for big components: another edge of the same node has exactly the chosen value."""
    sorter = np.argsort(local.edges)
    position = sorter[np.searchsorted(local.edges, chosen, sorter=sorter)]
    values = value[local.edges]
    tied = np.zeros(len(chosen), bool)
    for node in (local.l, local.r):
        keys = node * (int(values.max(initial=0)) + 1) + values  # (node, value) as one integer
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        tied |= counts[inverse.reshape(-1)][position] > 1
    return tied


def _local_rank(comp: IntArray, node: IntArray) -> IntArray:
    """Rank of each edge's node among the distinct nodes of its component (0-based, by node index)."""
    span = int(node.max(initial=0)) + 1
    keys = comp * span + node  # (comp, node) as one sortable integer
    unique_keys, inverse = np.unique(keys, return_inverse=True)
    unique_comp = unique_keys // span
    first = np.r_[True, unique_comp[1:] != unique_comp[:-1]]
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(unique_keys)), 0))
    rank = np.arange(len(unique_keys)) - group_start
    result: IntArray = rank[inverse.reshape(-1)].astype(np.int64)
    return result


@lru_cache(maxsize=256)
def _template_count(a: int, b: int) -> int:
    """Partial injective maps of a rows into b columns, counted only up to just beyond TEMPLATE_LIMIT
    (exact counts of big components are huge integers: 70 s for a few thousand-node components)."""
    total, perm = 0, 1
    for k in range(a + 1):
        total += _comb(a, k) * perm
        if total > TEMPLATE_LIMIT:
            return TEMPLATE_LIMIT + 1
        perm *= b - k
    return total


def _comb(n: int, k: int) -> int:
    result = 1
    for i in range(k):
        result = result * (n - i) // (i + 1)
    return result


@lru_cache(maxsize=256)
def _templates(a: int, b: int) -> IntArray:
    """Every partial injective map of a rows into b columns; b stands for 'unassigned'. Fixed order."""
    rows = [
        t
        for t in itertools.product(range(b + 1), repeat=a)
        if len({x for x in t if x < b}) == sum(x < b for x in t)
    ]
    # put 'unassigned' last for each row so that, among equal totals, earlier columns win
    return np.array(rows, dtype=np.int64).reshape(-1, a)
