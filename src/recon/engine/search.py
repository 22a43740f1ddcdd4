"""Grouped passes without group_by: bounded subset search (many_to_one / one_to_many) and connected
candidate components (many_to_many). See recon.engine.groups for the semantics."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from recon.engine.arrays import FloatArray, IntArray
from recon.engine.executor import PairCandidates, Session
from recon.engine.found import Found, Membership, note_below
from recon.engine.margin import LEFT_RIVAL, NO_RIVAL, RIGHT_RIVAL, Rivals
from recon.engine.passes import Reasons
from recon.engine.planner import ItemKey, PassPlan
from recon.engine.subset import (
    DIRECT_LIMIT,
    MAX_CANDIDATES,
    alternative_direct,
    best_subset,
    best_subsets,
    mask_members,
    sum_bounds,
)

LEFT_UNITS, RIGHT_UNITS = "__lv", "__rv"  # candidate columns: each side's summed amount in whole units


def units_scale(session: Session, plan: PassPlan) -> int:
    """Decimal places that make every summed amount and the tolerance whole numbers."""
    spec = plan.spec
    assert spec.sum is not None
    scale = 0
    for side, column in (("left", spec.sum.left), ("right", spec.sum.right)):
        data_type = session.sides[side].table.schema.field(column).type
        if pa.types.is_decimal(data_type):
            scale = max(scale, data_type.scale)
        elif pa.types.is_floating(data_type) or not pa.types.is_integer(data_type):
            scale = max(scale, 6)
    if spec.sum.abs is not None:
        exponent = spec.sum.abs.normalize().as_tuple().exponent
        scale = max(scale, -exponent if isinstance(exponent, int) else 0)
    return min(scale, 9)


def _unit_candidates(
    session: Session,
    plan: PassPlan,
    available: tuple[IntArray, IntArray],
    tables: tuple[str, str] = ("pl", "pr"),
) -> tuple[PairCandidates, int]:
    session.pass_table(tables[0], "left", plan, available[0], "probe")
    session.pass_table(tables[1], "right", plan, available[1], "build")
    scale = units_scale(session, plan)
    extra = {side: f"CAST(round({side}.__sv * {10**scale}) AS BIGINT)" for side in ("l", "r")}
    units = {LEFT_UNITS: extra["l"], RIGHT_UNITS: extra["r"]}
    candidates = session.pair_candidates(plan, *tables, units)
    return candidates, scale


def _tolerance_units(plan: PassPlan, scale: int) -> int | None:
    spec = plan.spec
    assert spec.sum is not None
    return None if spec.sum.abs is None else int(spec.sum.abs * (Decimal(10) ** scale))


def subsets(
    session: Session,
    plan: PassPlan,
    available: tuple[IntArray, IntArray],
    reasons: Reasons,
    *,
    partition: IntArray | None = None,
    tables: tuple[str, str] = ("pl", "pr"),
    spread: Callable[[PairCandidates], PairCandidates] | None = None,
) -> Found:
    """Bounded subset search; with `partition` (per many-side record: its group, from group_by) the members
    of a subset come from one group, and a one-side record joins at most one subset; `spread` turns the
    candidates found for `available` into those the search works on (see groups._inside_groups)."""
    spec = plan.spec
    assert spec.sum is not None
    candidates, scale = _unit_candidates(session, plan, available, tables)
    if spread is not None:
        candidates = spread(candidates)
    if partition is None:
        note_below(reasons, plan, candidates, {"left": Membership(), "right": Membership()})
    if spec.kind == "many_to_one":
        one, many, one_value, many_value = candidates.right, candidates.left, RIGHT_UNITS, LEFT_UNITS
    else:
        one, many, one_value, many_value = candidates.left, candidates.right, LEFT_UNITS, RIGHT_UNITS
    values = np.asarray(candidates.extra[many_value], dtype=np.int64)
    targets = np.asarray(candidates.extra[one_value], dtype=np.int64)
    part = partition[many] if partition is not None else np.zeros(len(many), np.int64)
    order = np.lexsort((many, -candidates.score, part, one))
    changes = (one[order][1:] != one[order][:-1]) | (part[order][1:] != part[order][:-1])
    starts = np.flatnonzero(np.r_[True, changes]) if len(order) else np.zeros(0, np.int64)
    bounds = np.append(starts, len(order))
    abs_units = _tolerance_units(plan, scale)
    blocks = [order[bounds[k] : bounds[k + 1]] for k in range(len(starts))]
    everyone = [
        np.array(sorted(b.tolist()[:MAX_CANDIDATES], key=lambda e: int(many[e])), np.int64) for b in blocks
    ]
    planned = _plan_subsets(everyone, values, targets, (abs_units, spec.sum.pct), spec.max_group_size)
    used: set[int] = set()
    used_one: set[int] = set()
    rivals: list[tuple[int, int, float]] = []  # (group, many-side record of another subset, its score)
    groups: list[tuple[int, list[int]]] = []
    scores: list[float] = []
    sims: dict[ItemKey, list[float]] = {key: [] for key in candidates.sims}
    for k, block in enumerate(blocks):
        if len(block) < 2 or int(one[block[0]]) in used_one:
            continue
        target = int(targets[block[0]])
        window = sum_bounds(target, abs_units, spec.sum.pct)
        # The batch result holds while its pick is free: the best subset of all candidates is the best of the
        # free ones too, and the alternative is looked for among all candidates either way (no subset of all
        # candidates: none of the free ones either). Only blocks whose pick an earlier group took re-solve.
        picked, other = planned.get(k, (None, None))
        if k in planned and picked is None:
            continue
        if picked is not None and not any(int(many[e]) in used for e in everyone[k][list(picked)]):
            edges = everyone[k][list(picked)]
        else:
            free = [e for e in block.tolist() if int(many[e]) not in used][:MAX_CANDIDATES]
            if len(free) < 2:
                continue
            free.sort(key=lambda e: int(many[e]))
            chosen_edges = np.array(free, np.int64)
            found_subset = best_subset(values[chosen_edges], target, window, spec.max_group_size)
            if found_subset is None:
                continue
            edges = chosen_edges[list(found_subset)]
            # Another subset of the same size over all candidates (free or not) makes the group unsure.
            inside = tuple(int(i) for i in np.flatnonzero(np.isin(everyone[k], edges)))
            other = (
                _alternative(values[everyone[k]], target, window, inside)
                if len(inside) == len(edges)
                else None
            )
        if other is not None:
            rival_edges = everyone[k][list(other)]
            newcomer = next(e for e in rival_edges.tolist() if e not in set(edges.tolist()))
            total = int(values[rival_edges].sum())
            rival_score = _group_score(plan, candidates.score[rival_edges], total, target, abs_units)
            rivals.append((len(groups), int(many[newcomer]), rival_score))
        used.update(int(x) for x in many[edges])
        used_one.add(int(one[edges[0]]))
        groups.append((int(one[edges[0]]), [int(x) for x in many[edges]]))
        total = int(values[edges].sum())
        scores.append(_group_score(plan, candidates.score[edges], total, target, abs_units))
        for name, column in candidates.sims.items():
            sims[name].append(float(column[edges].mean()))
    one_side, many_side = _expand_groups(groups)
    left, right = (many_side, one_side) if spec.kind == "many_to_one" else (one_side, many_side)
    found = Found(
        left, right, np.array(scores), np.zeros(len(groups), bool), {k: np.array(v) for k, v in sims.items()}
    )
    found.rivals = _subset_rivals(
        len(groups), rivals, LEFT_RIVAL if spec.kind == "many_to_one" else RIGHT_RIVAL
    )
    return found


def _plan_subsets(
    everyone: list[IntArray],
    values: IntArray,
    targets: IntArray,
    tolerance: tuple[int | None, Decimal | None],
    max_size: int,
) -> dict[int, tuple[tuple[int, ...] | None, tuple[int, ...] | None]]:
    """For every block of at most DIRECT_LIMIT candidates, its best subset and a same-size alternative over
    all its candidates, computed for all blocks of one size at once (see subset.best_subsets)."""
    by_size: dict[int, list[int]] = {}
    for k, edges in enumerate(everyone):
        if 2 <= len(edges) <= DIRECT_LIMIT:
            by_size.setdefault(len(edges), []).append(k)
    planned: dict[int, tuple[tuple[int, ...] | None, tuple[int, ...] | None]] = {}
    for n, members in by_size.items():
        edges = np.stack([everyone[k] for k in members])
        block_targets = targets[edges[:, 0]]
        windows = [sum_bounds(int(t), tolerance[0], tolerance[1]) for t in block_targets.tolist()]
        lows = np.array([w[0] for w in windows], np.int64)
        highs = np.array([w[1] for w in windows], np.int64)
        best, rival = best_subsets(values[edges], block_targets, lows, highs, min(max_size, n))
        for k, mask, other in zip(members, best.tolist(), rival.tolist(), strict=True):
            planned[k] = (
                mask_members(mask) if mask >= 0 else None,
                mask_members(other) if other >= 0 else None,
            )
    return planned


def _alternative(
    values: IntArray, target: int, window: tuple[int, int], picked: tuple[int, ...]
) -> tuple[int, ...] | None:
    """Another subset of the same size whose sum is within the window (several records satisfy the sum):
    for the first member of `picked` without which the best subset still has that size, that subset."""
    if len(values) <= DIRECT_LIMIT:
        return alternative_direct(values, target, window, picked)
    for member in picked:
        keep = np.array([k for k in range(len(values)) if k != member], np.int64)
        other = best_subset(values[keep], target, window, len(picked))
        if other is not None and len(other) == len(picked):
            return tuple(int(keep[k]) for k in other)
    return None


def _subset_rivals(n_groups: int, found: list[tuple[int, int, float]], side: int) -> Rivals:
    rivals = Rivals(
        np.full(n_groups, NO_RIVAL, np.int8),
        np.full(n_groups, -1, np.int64),
        np.full(n_groups, -np.inf),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
    )
    for group, node, score in found:
        rivals.side[group], rivals.node[group], rivals.score[group] = side, node, score
    return rivals


def _group_score(
    plan: PassPlan, pair_scores: FloatArray, total: int, target: int, abs_units: int | None
) -> float:
    if plan.scores:
        return float(pair_scores.mean())
    spec = plan.spec
    assert spec.sum is not None
    diff = abs(total - target)
    if abs_units is not None:
        sum_close = 1.0 if abs_units == 0 else max(0.0, 1.0 - diff / abs_units)
    else:
        allowed = float(spec.sum.pct or 0) / 100 * max(abs(total), abs(target))
        sum_close = 1.0 if allowed == 0 else max(0.0, 1.0 - diff / allowed)
    return (sum_close + float(pair_scores.mean())) / 2 if plan.closeness else sum_close


def _expand_groups(
    groups: list[tuple[int, list[int]]],
) -> tuple[tuple[IntArray, IntArray], tuple[IntArray, IntArray]]:
    one = (np.arange(len(groups), dtype=np.int64), np.array([g[0] for g in groups], dtype=np.int64))
    sizes = [len(g[1]) for g in groups]
    many_group = np.repeat(np.arange(len(groups), dtype=np.int64), sizes)
    many_rids = np.array([rid for g in groups for rid in g[1]], dtype=np.int64)
    return one, (many_group, many_rids)


def components(
    session: Session, plan: PassPlan, available: tuple[IntArray, IntArray], reasons: Reasons
) -> Found:
    spec = plan.spec
    assert spec.sum is not None
    candidates, scale = _unit_candidates(session, plan, available)
    note_below(reasons, plan, candidates, {"left": Membership(), "right": Membership()})
    left_nodes, li = np.unique(candidates.left, return_inverse=True)
    right_nodes, ri = np.unique(candidates.right, return_inverse=True)
    n_l, n = len(left_nodes), len(left_nodes) + len(right_nodes)
    if len(candidates.left) == 0:
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        return Found(empty, empty, np.zeros(0), np.zeros(0, bool), {})
    graph = coo_matrix((np.ones(len(li)), (li, n_l + ri)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    left_value = np.zeros(n_l, np.int64)
    left_value[li] = candidates.extra[LEFT_UNITS]
    right_value = np.zeros(n - n_l, np.int64)
    right_value[ri] = candidates.extra[RIGHT_UNITS]
    comp_l, comp_r = labels[:n_l], labels[n_l:]
    n_comp = int(labels.max()) + 1
    size_l, size_r = np.bincount(comp_l, minlength=n_comp), np.bincount(comp_r, minlength=n_comp)
    sum_l, sum_r = np.zeros(n_comp, np.int64), np.zeros(n_comp, np.int64)
    np.add.at(sum_l, comp_l, left_value)
    np.add.at(sum_r, comp_r, right_value)
    abs_units = _tolerance_units(plan, scale)
    valid = (size_l <= spec.max_group_size) & (size_r <= spec.max_group_size)
    for c in np.flatnonzero(valid).tolist():
        low, high = sum_bounds(int(sum_r[c]), abs_units, spec.sum.pct)
        valid[c] = low <= int(sum_l[c]) <= high
    edge_comp = labels[li]
    edge_valid = valid[edge_comp]
    comp_ids = np.flatnonzero(valid)
    number = np.full(n_comp, -1, np.int64)
    number[comp_ids] = np.arange(len(comp_ids))
    counts = np.bincount(number[edge_comp[edge_valid]], minlength=len(comp_ids))
    mean_score = np.bincount(
        number[edge_comp[edge_valid]], weights=candidates.score[edge_valid], minlength=len(comp_ids)
    )
    pair_mean = mean_score / np.maximum(counts, 1)
    scores = np.array(
        [
            _group_score(plan, np.array([pair_mean[k]]), int(sum_l[c]), int(sum_r[c]), abs_units)
            for k, c in enumerate(comp_ids.tolist())
        ]
    )
    sims = {
        name: np.bincount(number[edge_comp[edge_valid]], weights=column[edge_valid], minlength=len(comp_ids))
        / np.maximum(counts, 1)
        for name, column in candidates.sims.items()
    }
    in_l, in_r = valid[comp_l], valid[comp_r]
    left = (number[comp_l[in_l]], left_nodes[in_l])
    right = (number[comp_r[in_r]], right_nodes[in_r])
    return Found(left, right, scores, np.zeros(len(comp_ids), bool), sims)
