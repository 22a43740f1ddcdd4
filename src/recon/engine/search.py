"""Grouped passes without group_by: bounded subset search (many_to_one / one_to_many) and connected
candidate components (many_to_many). See recon.engine.groups for the semantics."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from recon.engine.executor import PairCandidates, Session
from recon.engine.found import Found, Membership, note_below
from recon.engine.passes import Reasons
from recon.engine.planner import PassPlan
from recon.engine.subset import MAX_CANDIDATES, best_subset, sum_bounds

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _units_scale(session: Session, plan: PassPlan) -> int:
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
    session: Session, plan: PassPlan, available: tuple[IntArray, IntArray]
) -> tuple[PairCandidates, int]:
    session.pass_table("pl", "left", plan, available[0], "probe")
    session.pass_table("pr", "right", plan, available[1], "build")
    scale = _units_scale(session, plan)
    extra = {side: f"CAST(round({side}.__sv * {10**scale}) AS BIGINT)" for side in ("l", "r")}
    candidates = session.pair_candidates(plan, "pl", "pr", {"__lv": extra["l"], "__rv": extra["r"]})
    return candidates, scale


def _tolerance_units(plan: PassPlan, scale: int) -> int | None:
    spec = plan.spec
    assert spec.sum is not None
    return None if spec.sum.abs is None else int(spec.sum.abs * (Decimal(10) ** scale))


def subsets(
    session: Session, plan: PassPlan, available: tuple[IntArray, IntArray], reasons: Reasons
) -> Found:
    spec = plan.spec
    assert spec.sum is not None
    candidates, scale = _unit_candidates(session, plan, available)
    note_below(reasons, plan, candidates, {"left": Membership(), "right": Membership()})
    if spec.kind == "many_to_one":
        one, many, one_value, many_value = candidates.right, candidates.left, "__rv", "__lv"
    else:
        one, many, one_value, many_value = candidates.left, candidates.right, "__lv", "__rv"
    values = np.asarray(candidates.extra[many_value], dtype=np.int64)
    targets = np.asarray(candidates.extra[one_value], dtype=np.int64)
    order = np.lexsort((many, -candidates.score, one))
    starts = (
        np.flatnonzero(np.r_[True, one[order][1:] != one[order][:-1]])
        if len(order)
        else np.zeros(0, np.int64)
    )
    bounds = np.append(starts, len(order))
    abs_units = _tolerance_units(plan, scale)
    used: set[int] = set()
    groups: list[tuple[int, list[int]]] = []
    scores: list[float] = []
    sims: dict[str, list[float]] = {name: [] for name in candidates.sims}
    for k in range(len(starts)):
        block = order[bounds[k] : bounds[k + 1]]
        if len(block) < 2:
            continue
        free = [e for e in block.tolist() if int(many[e]) not in used][:MAX_CANDIDATES]
        if len(free) < 2:
            continue
        free.sort(key=lambda e: int(many[e]))
        chosen_edges = np.array(free, np.int64)
        target = int(targets[chosen_edges[0]])
        window = sum_bounds(target, abs_units, spec.sum.pct)
        picked = best_subset(values[chosen_edges], target, window, spec.max_group_size)
        if picked is None:
            continue
        edges = chosen_edges[list(picked)]
        used.update(int(x) for x in many[edges])
        groups.append((int(one[edges[0]]), [int(x) for x in many[edges]]))
        total = int(values[edges].sum())
        scores.append(_group_score(plan, candidates.score[edges], total, target, abs_units))
        for name, column in candidates.sims.items():
            sims[name].append(float(column[edges].mean()))
    one_side, many_side = _expand_groups(groups)
    left, right = (many_side, one_side) if spec.kind == "many_to_one" else (one_side, many_side)
    return Found(
        left, right, np.array(scores), np.zeros(len(groups), bool), {k: np.array(v) for k, v in sims.items()}
    )


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
    left_value[li] = candidates.extra["__lv"]
    right_value = np.zeros(n - n_l, np.int64)
    right_value[ri] = candidates.extra["__rv"]
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
