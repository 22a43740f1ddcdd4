"""Grouped passes: many_to_one, one_to_many and many_to_many.

- With group_by the many side(s) are grouped by those columns (groups of 1..max_group_size records; records
  with an empty group_by value are not grouped). A group is matched to one record (or group) on the other
  side when the sums agree within `sum` and every match condition holds for every member (a condition on a
  group_by column therefore uses the group's value); the best total pairing wins, as in one_to_one.
- many_to_one / one_to_many without group_by: bounded subset search. One-side records in id order; each
  takes its (at most 24) best-scoring candidates that are still free and looks for 2..max_group_size of them
  whose sum is within tolerance (fewest members, then smallest difference, then lowest ids). Members used by
  a group are not offered to later records.
- many_to_many without group_by: connected components of the candidate graph become groups when each side
  has at most max_group_size records and the side sums agree within tolerance.
Group score without score items: mean of the sum closeness and the members' condition closeness; with score
items: the weighted mean of the items' similarity averaged over member pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from recon.engine import sql
from recon.engine.assign import assign
from recon.engine.executor import PairCandidates, Session, apply_min_score, band_columns, join_clause
from recon.engine.explain import group_outcomes
from recon.engine.passes import AMBIGUOUS, BELOW_MIN_SCORE, PassResult, Reasons, decide_status
from recon.engine.planner import PassPlan
from recon.engine.subset import MAX_CANDIDATES, best_subset, sum_bounds

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
SIDE_CODE = {"left": 0, "right": 1}


@dataclass
class Found:
    """Groups before ordering: member rids per side with their group number, and per-group figures."""

    left: tuple[IntArray, IntArray]  # (group, rid)
    right: tuple[IntArray, IntArray]
    score: FloatArray
    tied: BoolArray
    sims: dict[str, FloatArray]


class Membership:
    """Group node id -> member rids for a grouped side (identity for an ungrouped side)."""

    def __init__(self, groups: IntArray | None = None, rids: IntArray | None = None) -> None:
        self.groups = groups
        self.rids = rids

    def expand(self, nodes: IntArray) -> tuple[IntArray, IntArray]:
        """(index into nodes, rid) for every member of the given nodes."""
        if self.groups is None or self.rids is None:
            return np.arange(len(nodes), dtype=np.int64), nodes.astype(np.int64)
        start = np.searchsorted(self.groups, nodes, side="left")
        stop = np.searchsorted(self.groups, nodes, side="right")
        counts = stop - start
        owner = np.repeat(np.arange(len(nodes), dtype=np.int64), counts)
        offsets = np.cumsum(counts) - counts
        positions = np.repeat(start - offsets, counts) + np.arange(int(counts.sum()))
        return owner, self.rids[positions]


def run_grouped(
    session: Session, plan: PassPlan, available: tuple[IntArray, IntArray], reasons: Reasons
) -> PassResult:
    spec = plan.spec
    if spec.group_by:
        found = _group_by(session, plan, available, reasons)
    elif spec.kind == "many_to_many":
        found = _components(session, plan, available, reasons)
    else:
        found = _subsets(session, plan, available, reasons)
    return _finish(session, plan, found)


def _group_by(
    session: Session, plan: PassPlan, available: tuple[IntArray, IntArray], reasons: Reasons
) -> Found:
    spec = plan.spec
    many = spec.many_sides
    session.pass_table("pl", "left", plan, available[0], None if "left" in many else "probe")
    session.pass_table("pr", "right", plan, available[1], None if "right" in many else "build")
    nodes = {"left": "pl", "right": "pr"}
    members = {"left": Membership(), "right": Membership()}
    for side in many:
        nodes[side], members[side] = _make_groups(session, plan, side)
    assert spec.sum is not None
    within = sql.within_amount("l.__sv - r.__sv", "l.__sv", "r.__sv", spec.sum.abs, spec.sum.pct)
    closeness = sql.amount_closeness("l.__sv", "r.__sv", spec.sum.abs, spec.sum.pct)
    session.run(
        "CREATE OR REPLACE TEMP TABLE __cand AS SELECT l.__rid AS lg, r.__rid AS rg, "
        f"{closeness} AS __sclose FROM {join_clause(plan, nodes['left'], nodes['right'])} WHERE {within}"
    )
    joins = []
    for side, alias, node in (("left", "l", "lg"), ("right", "r", "rg")):
        table = "pl" if side == "left" else "pr"
        if side in many:
            joins.append(f"JOIN __gm_{side} m{alias} ON m{alias}.__g = c.{node} ")
            joins.append(f"JOIN {table} {alias} ON {alias}.__rid = m{alias}.__rid")
        else:
            joins.append(f"JOIN {table} {alias} ON {alias}.__rid = c.{node}")
    candidates = _member_level(session, plan, "__cand c " + " ".join(joins))
    _note_below(reasons, plan, candidates, members)
    chosen = assign(candidates.left, candidates.right, candidates.score)
    for side, nodes_of in (("left", chosen.ambiguous_left), ("right", chosen.ambiguous_right)):
        reasons.note(side, np.unique(members[side].expand(nodes_of)[1]), AMBIGUOUS, spec.index)
    edges = chosen.edges
    left = members["left"].expand(candidates.left[edges])
    right = members["right"].expand(candidates.right[edges])
    return Found(
        left,
        right,
        candidates.score[edges],
        chosen.tied,
        {name: values[edges] for name, values in candidates.sims.items()},
    )


def _make_groups(session: Session, plan: PassPlan, side: str) -> tuple[str, Membership]:
    """Group the side's pass table by group_by: __gm_<side>(__g, __rid) and node table __n_<side>."""
    spec = plan.spec
    table = "pl" if side == "left" else "pr"
    keys = ", ".join(sql.quote(column) for column in spec.group_by)
    present = " AND ".join(f"{sql.quote(column)} IS NOT NULL" for column in spec.group_by)
    session.run(
        f"CREATE OR REPLACE TEMP TABLE __gm_{side} AS SELECT __rid, min(__rid) OVER w AS __g, "
        f"count(*) OVER w AS __n FROM {table} WHERE {present} WINDOW w AS (PARTITION BY {keys})"
    )
    aliases = sorted({alias for pair in plan.keys for alias in pair[:2] if alias.startswith("__m")})
    carried = "".join(f", any_value(p.{alias}) AS {alias}" for alias in aliases)
    role = "probe" if side == "left" else "build"
    bands = band_columns(plan, "__sv", role) if plan.band is not None else {}
    band_sql = "".join(f", {expr} AS {alias}" for alias, expr in bands.items())
    session.run(
        f"CREATE OR REPLACE TEMP TABLE __n_{side} AS SELECT *{band_sql} FROM ("
        f"SELECT m.__g AS __rid, count(*) AS __n, sum(p.__sv) AS __sv{carried} "
        f"FROM __gm_{side} m JOIN {table} p ON p.__rid = m.__rid "
        f"WHERE m.__n <= {spec.max_group_size} GROUP BY m.__g)"
    )
    membership = session.arrow(f"SELECT __g, __rid FROM __gm_{side} ORDER BY __g, __rid")
    groups = np.asarray(membership.column("__g").to_numpy(), dtype=np.int64)
    rids = np.asarray(membership.column("__rid").to_numpy(), dtype=np.int64)
    return f"__n_{side}", Membership(groups, rids)


def _member_level(session: Session, plan: PassPlan, source: str) -> PairCandidates:
    """Evaluate every condition and score item on member pairs of each (node, node) candidate."""
    select = ["c.lg", "c.rg", "c.__sclose"]
    checks = [check.sql for check in plan.checks if check.sql is not None]
    select.append(f"({' AND '.join(checks) or 'true'}) AS __ok")
    for part in plan.scores:
        if part.sql is not None:
            select.append(f"{part.sql} AS __sim{part.index}")
        else:
            select += [f"l.{part.left} AS __ls{part.index}", f"r.{part.right} AS __rs{part.index}"]
    python_checks = [check for check in plan.checks if check.sql is None]
    for check in python_checks:
        select += [f"{check.left} AS __lc{check.index}", f"{check.right} AS __rc{check.index}"]
    select.append(f"{sql.mean(plan.closeness)} AS __close")
    table = session.arrow(f"SELECT {', '.join(select)} FROM {source} ORDER BY c.lg, c.rg")
    lg = np.asarray(table.column("lg").to_numpy(), dtype=np.int64)
    rg = np.asarray(table.column("rg").to_numpy(), dtype=np.int64)
    if len(lg) == 0:
        empty = np.zeros(0)
        return PairCandidates(lg, rg, empty, np.zeros(0, bool))
    starts = np.flatnonzero(np.r_[True, (lg[1:] != lg[:-1]) | (rg[1:] != rg[:-1])])
    counts = np.diff(np.append(starts, len(lg)))
    ok = np.asarray(table.column("__ok").to_numpy(zero_copy_only=False), dtype=bool)
    for check in python_checks:
        ok &= session.token_set(table, f"__lc{check.index}", f"__rc{check.index}") >= check.minimum - 1e-12
    group_ok = np.logical_and.reduceat(ok, starts)
    sims: dict[str, FloatArray] = {}
    for part in plan.scores:
        if part.sql is not None:
            values = _floats(table, f"__sim{part.index}")
        else:
            values = session.token_set(table, f"__ls{part.index}", f"__rs{part.index}")
        sims[f"score{part.index}"] = np.add.reduceat(values, starts) / counts
    sum_close = _floats(table, "__sclose")[starts]
    if plan.scores:
        weights = sum(part.weight for part in plan.scores)
        score = sum(part.weight * sims[f"score{part.index}"] for part in plan.scores) / weights
    elif plan.closeness:
        score = (sum_close + np.add.reduceat(_floats(table, "__close"), starts) / counts) / 2
    else:
        score = sum_close
    keep = group_ok
    result = PairCandidates(
        lg[starts][keep], rg[starts][keep], np.asarray(score)[keep], np.ones(int(keep.sum()), bool)
    )
    result.sims = {name: values[keep] for name, values in sims.items()}
    if plan.spec.min_score is not None:
        result = apply_min_score(result, plan.spec.min_score)
    return result


def _note_below(
    reasons: Reasons, plan: PassPlan, candidates: PairCandidates, members: dict[str, Membership]
) -> None:
    for side in ("left", "right"):
        nodes = getattr(candidates, f"below_{side}")
        best = getattr(candidates, f"below_best_{side}")
        owner, rids = members[side].expand(nodes)
        reasons.note(side, rids, BELOW_MIN_SCORE, plan.spec.index, best[owner])


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


def _subsets(
    session: Session, plan: PassPlan, available: tuple[IntArray, IntArray], reasons: Reasons
) -> Found:
    spec = plan.spec
    assert spec.sum is not None
    candidates, scale = _unit_candidates(session, plan, available)
    _note_below(reasons, plan, candidates, {"left": Membership(), "right": Membership()})
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


def _components(
    session: Session, plan: PassPlan, available: tuple[IntArray, IntArray], reasons: Reasons
) -> Found:
    spec = plan.spec
    assert spec.sum is not None
    candidates, scale = _unit_candidates(session, plan, available)
    _note_below(reasons, plan, candidates, {"left": Membership(), "right": Membership()})
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


def _finish(session: Session, plan: PassPlan, found: Found) -> PassResult:
    """Order groups by smallest left id, then compare and explain them."""
    n_groups = len(found.score)
    first_left = np.full(n_groups, np.iinfo(np.int64).max)
    np.minimum.at(first_left, found.left[0], found.left[1])
    order = np.argsort(first_left, kind="stable")
    renumber = np.empty(n_groups, np.int64)
    renumber[order] = np.arange(n_groups)
    group = np.concatenate([renumber[found.left[0]], renumber[found.right[0]]])
    side = np.concatenate([np.zeros(len(found.left[0]), np.int8), np.ones(len(found.right[0]), np.int8)])
    rid = np.concatenate([found.left[1], found.right[1]])
    member_order = np.lexsort((rid, side, group))
    group, side, rid = group[member_order], side[member_order], rid[member_order]
    score = found.score[order]
    sims = {name: values[order] for name, values in found.sims.items()}
    compare_ok, explanation = group_outcomes(session, plan, ("pl", "pr"), (group, side, rid), sims)
    status = decide_status(plan.spec, score, found.tied[order], compare_ok)
    return PassResult(plan.spec, group, side, rid, status, score, explanation)


def _floats(table: pa.Table, column: str) -> FloatArray:
    values = table.column(column).cast(pa.float64()).fill_null(0.0)
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
