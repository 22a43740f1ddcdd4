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

from collections import Counter
from collections.abc import Callable, Iterable
from decimal import Decimal
from fractions import Fraction
from math import ceil

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from recon.engine import dates, sql
from recon.engine.arrays import BoolArray, FloatArray, IntArray
from recon.engine.assign import assign
from recon.engine.executor import (
    PairCandidates,
    Session,
    apply_min_score,
    band_columns,
    join_clause,
    similarity_columns,
)
from recon.engine.explain import group_outcomes, rival_text
from recon.engine.found import Found, Membership, note_below
from recon.engine.margin import LEFT_RIVAL, NO_RIVAL, RIGHT_RIVAL, Rivals, find_rivals
from recon.engine.passes import AMBIGUOUS, Detail, PassResult, Reasons, decide_status
from recon.engine.planner import SUM_ALIAS, ItemKey, PassPlan, condition_alias, within_groups_plan
from recon.engine.search import (
    LEFT_UNITS,
    RIGHT_UNITS,
    _expand_groups,
    _group_score,
    components,
    subsets,
    units_scale,
)
from recon.engine.subset import (
    PARTIAL_NODES,
    HalfSums,
    exact_covers,
    half_depth,
    smallest_subsets_many,
    sum_bounds,
)
from recon.engine.timing import stage
from recon.engine.twins import Pick, exchange_twins

MAX_GROUP_OPEN = 256  # open records of a group_by group searched for subsets; larger groups are left alone
MAX_WAYS = 16  # subsets (over all its groups) making a record's sum beyond which none is offered
MAX_ROUNDS = 8  # rounds of elimination in _search_groups (each decides the records left with one way)
Solutions = dict[int, tuple[int, int, list[tuple[int, ...]]]]  # edge -> (size, count, subsets of the fewest)


def run_grouped(
    session: Session, plan: PassPlan, available: tuple[IntArray, IntArray], reasons: Reasons
) -> PassResult:
    spec = plan.spec
    if spec.group_by:
        found = _group_by(session, plan, available, reasons)
    elif spec.kind == "many_to_many":
        found = components(session, plan, available, reasons)
    else:
        found = subsets(session, plan, available, reasons)
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
    note_below(reasons, plan, candidates, members)
    chosen = assign(candidates.left, candidates.right, candidates.score)
    rivals = find_rivals(candidates.left, candidates.right, candidates.score, chosen.edges, spec.margin)
    for side, nodes_of in (
        ("left", np.union1d(chosen.ambiguous_left, rivals.losers_left)),
        ("right", np.union1d(chosen.ambiguous_right, rivals.losers_right)),
    ):
        _note_losers(
            reasons, plan, side, nodes_of, candidates=candidates, edges=chosen.edges, members=members
        )
    edges = chosen.edges
    left = members["left"].expand(candidates.left[edges])
    right = members["right"].expand(candidates.right[edges])
    whole = Found(
        left,
        right,
        candidates.score[edges],
        chosen.tied,
        {name: values[edges] for name, values in candidates.sims.items()},
        rivals,
    )
    if len(many) != 1:
        return whole
    with stage(f"{spec.name}: subsets inside groups"):
        inside = _inside_groups(session, plan, available, whole, members=members[many[0]], reasons=reasons)
    return whole if inside is None else _joined(whole, inside)


def _note_losers(
    reasons: Reasons,
    plan: PassPlan,
    side: str,
    nodes: IntArray,
    *,
    candidates: PairCandidates,
    edges: IntArray,
    members: dict[str, Membership],
) -> None:
    """Records of the nodes (records or groups) that lost a tie or near-tie for a record of the other side:
    `ambiguous`, the detail naming the contested record (the first member, for a group) that another
    record or group of the same sum took."""
    other = "right" if side == "left" else "left"
    mine, theirs = (
        (candidates.left, candidates.right) if side == "left" else (candidates.right, candidates.left)
    )
    taken = np.zeros(int(theirs.max(initial=-1)) + 1, bool)
    taken[theirs[edges]] = True
    hit = taken[theirs] & np.isin(mine, nodes)
    losing, first = np.unique(mine[hit], return_index=True)  # a losing node and a taken node it wanted
    contested = theirs[hit][first]
    owner, rids = members[other].expand(contested)
    rival_of: dict[int, int] = {}
    for node, rid in zip(losing[owner].tolist(), rids.tolist(), strict=True):
        rival_of.setdefault(node, rid)
    owner, rids = members[side].expand(nodes)
    known = np.array([int(n) in rival_of for n in nodes.tolist()], bool)[owner]
    reasons.note(side, np.unique(rids[~known]), AMBIGUOUS, plan.spec.index)
    text = (
        f"competing records or groups for the same sum in pass '{plan.spec.name}': {{rival}} went to "
        "another of them (a tie or near-tie within the margin)"
    )
    detailed, first_row = np.unique(rids[known], return_index=True)
    node_of = nodes[owner[known]][first_row]
    details = [Detail(text, other, rival_of[int(n)]) for n in node_of.tolist()]
    reasons.note(side, detailed, AMBIGUOUS, plan.spec.index, details=details)


def _inside_groups(
    session: Session,
    plan: PassPlan,
    available: tuple[IntArray, IntArray],
    whole: Found,
    *,
    members: Membership,
    reasons: Reasons,
) -> Found | None:
    """Second step of a many_to_one / one_to_many pass with group_by: the records of groups that matched
    nothing whole (a stray record in the group, two payments of one customer on one day, a group above
    max_group_size) get a bounded subset search inside their group (recon.engine.search.subsets), when
    the group has at most MAX_GROUP_OPEN open records (see _search_groups).

    Only when every match condition and score item reads group_by columns on the grouped side: the group's
    first record then stands for the group when candidates are looked for (each pair of the other side's
    record and a group is evaluated once, not once per member: the big customers of a heavy-tailed book have
    groups of dozens of records), and the pairs are spread to the members afterwards."""
    spec = plan.spec
    many = spec.many_sides[0]
    if not _all_on_group_columns(plan) or members.groups is None or members.rids is None:
        return None
    side_index = 0 if many == "left" else 1
    used = (whole.left[1], whole.right[1])
    open_many = np.setdiff1d(available[side_index], used[side_index])
    open_other = np.setdiff1d(available[1 - side_index], used[1 - side_index])
    partition = np.full(session.sides[many].n, -1, np.int64)
    partition[members.rids] = members.groups
    open_many = open_many[partition[open_many] >= 0]
    if len(open_many) == 0 or len(open_other) == 0:
        return None
    sizes = np.bincount(partition[open_many])
    open_size = sizes[partition[open_many]]
    # A group with more open records than MAX_GROUP_OPEN is left alone (the search would see too few of its
    # subsets to tell whether the one it finds is the only one).
    searchable = (open_size >= 2) & (open_size <= MAX_GROUP_OPEN)
    leaders = np.unique(partition[open_many][searchable])  # a group's first record
    if len(leaders) == 0:
        return None
    categories = {side: session.sides[side].categories() for side in ("left", "right")}
    derived = len(session.derived)
    sub_plan = within_groups_plan(plan, categories, session.derive)
    if sub_plan is None:
        return None
    if len(session.derived) != derived:
        for side in ("left", "right"):
            session.publish(side)
    offered = (leaders, open_other) if many == "left" else (open_other, leaders)
    units = _units(session, "pl" if many == "left" else "pr", sub_plan)
    open_mask = np.zeros(session.sides[many].n, bool)
    open_mask[open_many] = True
    found = _search_groups(
        session,
        sub_plan,
        offered,
        many=many,
        members=members,
        units=units,
        open_mask=open_mask,
        reasons=reasons,
    )
    found.sims = {name: values for name, values in found.sims.items() if name in whole.sims}
    if len(found.score) == 0:
        return None
    return found


def _search_groups(
    session: Session,
    plan: PassPlan,
    offered: tuple[IntArray, IntArray],
    *,
    many: str,
    members: Membership,
    units: dict[int, IntArray],
    open_mask: BoolArray,
    reasons: Reasons,
) -> Found:
    """Subsets inside group_by groups, each group searched whole (recon.engine.subset.smallest_subsets:
    the subsets of the fewest members making the sum, from two interleaved halves of the group with at most
    half_depth() members each, every such subset counted). A subset is matched only when it is the only one
    of its size in its group for its record, its record makes the sum in no other group and no other
    record's first subset wants its members; otherwise it is `suggested` and names a rival (a member of
    another subset, or the other record). A record with more than MAX_WAYS subsets making its sum gets none
    (unmatched, `ambiguous`): at 1M dense most such picks were wrong. Last, the twins of each group (equal
    amounts that two subsets, or a subset and the group's open records, could exchange) go to the subset
    whose other members lie nearest in record order, and a subset with a twin elsewhere is `suggested`
    (recon.engine.twins)."""
    spec = plan.spec
    assert spec.sum is not None
    scale = units_scale(session, plan)
    abs_units = None if spec.sum.abs is None else int(spec.sum.abs * (Decimal(10) ** scale))
    pct = spec.sum.pct
    unit_order = np.argsort(units[0])
    many_rival, one_rival = (LEFT_RIVAL, RIGHT_RIVAL) if many == "left" else (RIGHT_RIVAL, LEFT_RIVAL)
    free = open_mask.copy()
    fixed: dict[int, tuple[int, tuple[int, ...]]] = {}  # record -> (edge, subset), decided by elimination
    window = dates.grouped_window(spec)

    def solve(
        leaders: Iterable[int],
        blocks: dict[int, IntArray],
        cand: tuple[IntArray, IntArray],
        solutions: Solutions,
    ) -> None:
        """(size, count, options) of the edges of these groups over their members still free."""
        one_of, targets = cand
        for leader in leaders:
            block = blocks[leader]
            for edge in block.tolist():
                solutions.pop(edge, None)
            _, rids = members.expand(np.array([leader], np.int64))
            rids = np.sort(rids[free[rids]])
            if len(rids) < 2 or len(rids) > MAX_GROUP_OPEN:
                continue
            values = units[1][unit_order[np.searchsorted(units[0], rids, sorter=unit_order)]]
            halves = HalfSums(values, half_depth(len(rids), spec.max_group_size))
            edges = [edge for edge in block.tolist() if int(one_of[edge]) not in fixed]
            if not edges:
                continue
            wanted = targets[edges]
            if abs_units is not None:
                lows, highs = wanted - abs_units, wanted + abs_units
            else:
                windows = [sum_bounds(int(target), None, pct) for target in wanted.tolist()]
                lows = np.array([w[0] for w in windows], np.int64)
                highs = np.array([w[1] for w in windows], np.int64)
            answers = smallest_subsets_many(halves, wanted, lows, highs, spec.max_group_size)
            for edge, (count, options) in zip(edges, answers, strict=True):
                if count:
                    solutions[edge] = (
                        len(options[0]),
                        count,
                        [tuple(int(rids[i]) for i in o) for o in options],
                    )

    def values_of(rids: IntArray) -> IntArray:
        return units[1][unit_order[np.searchsorted(units[0], rids, sorter=unit_order)]]

    leaders = offered[0] if many == "left" else offered[1]
    reach = _reachable(
        leaders, members, values_of, open_mask, max_size=spec.max_group_size, tolerance=(abs_units, pct)
    )
    candidates, solutions = _kept_candidates(
        session, plan, offered, many=many, scale=scale, window=window, solve=solve, reach=reach
    )
    leader_of, one_of = (
        (candidates.left, candidates.right) if many == "left" else (candidates.right, candidates.left)
    )
    targets = np.asarray(candidates.extra[RIGHT_UNITS if many == "left" else LEFT_UNITS], np.int64)
    blocks = _blocks(leader_of, one_of)
    date_bits = _date_bits(candidates.extra.get(dates.DIFF_COLUMN), window, solutions, one_of)
    joint_rival: dict[int, tuple[int, int] | None] = {}
    tried: set[tuple[int, tuple[int, ...], tuple[int, ...]]] = set()

    def joint_round() -> bool:
        """The joint solve (_joint): a group (a customer's day) that several records can draw from is split
        among them at once, every open member used; its decisions are fixed. True when it decided any."""
        by_one = _by_record(solutions, one_of, leader_of, date_bits)
        for one in fixed:
            by_one.pop(one, None)
        joint = _joint(
            solutions,
            by_one,
            leader_of=leader_of,
            one_of=one_of,
            targets=targets,
            rids_of=lambda leader: np.sort(members.expand(np.array([leader], np.int64))[1]),
            values_of=values_of,
            free=free,
            tolerance=(abs_units, pct),
            max_size=spec.max_group_size,
            rival_sides=(many_rival, one_rival),
            tried=tried,
        )
        for one, (edge, subset, rival) in joint.items():
            fixed[one] = (edge, subset)
            joint_rival[one] = rival
            free[list(subset)] = False
        if joint:
            touched = {int(leader_of[edge]) for edge, _, _ in joint.values()}
            solve(touched, blocks, (one_of, targets), solutions)
        return bool(joint)

    # Rounds of the joint solve and elimination. Elimination: a record whose sum is made by exactly one
    # subset (one group, one subset of the fewest members) is sure of it; once sure records hold their
    # members, the others are counted again over the members still free, and some become sure (a
    # customer's day paid by several transfers: the first transfer with one way leaves the rest of the day
    # to the others). Records claiming a member another sure record claims too are not decided here. Each
    # round's decisions make the next round's groups smaller.
    for _ in range(MAX_ROUNDS):
        split = joint_round()
        by_one = _by_record(solutions, one_of, leader_of, date_bits)
        for one in fixed:  # a decided record's edges in groups not searched again are stale
            by_one.pop(one, None)
        sure = {
            one: edges[0] for one, edges in by_one.items() if len(edges) == 1 and solutions[edges[0]][1] == 1
        }
        claims = Counter(rid for edge in sure.values() for rid in solutions[edge][2][0])
        decided = {
            one: edge for one, edge in sure.items() if all(claims[rid] == 1 for rid in solutions[edge][2][0])
        }
        if not decided and not split:
            break
        for one, edge in decided.items():
            fixed[one] = (edge, solutions[edge][2][0])
            free[list(fixed[one][1])] = False
        solve({int(leader_of[edge]) for edge in decided.values()}, blocks, (one_of, targets), solutions)
    by_one = _by_record(solutions, one_of, leader_of, date_bits)
    for one in fixed:
        by_one.pop(one, None)
    # Of the records left, those with exactly one way are sure of it and go first; only their subsets'
    # members count as wanted by them (a record with several ways has no firm claim on any of them).
    sure_left = {one for one, edges in by_one.items() if len(edges) == 1 and solutions[edges[0]][1] == 1}
    wanted: dict[int, set[int]] = {}
    for one in sure_left:
        for rid in solutions[by_one[one][0]][2][0]:
            wanted.setdefault(rid, set()).add(one)
    # Records with at most MAX_WAYS ways take one of them, fewest ways first; among the subsets of a record,
    # the one whose members the fewest other such records could use (two payments of a customer's day
    # share its equal amounts: taking the one nobody else can use leaves the others their ways).
    ways = {one: sum(solutions[e][1] for e in edges) for one, edges in by_one.items()}
    needed: dict[int, set[int]] = {}
    for one, edges in by_one.items():
        if ways[one] <= MAX_WAYS:
            for edge in edges:
                for option in solutions[edge][2]:
                    for rid in option:
                        needed.setdefault(rid, set()).add(one)
    used: set[int] = {rid for _, subset in fixed.values() for rid in subset}
    groups: list[tuple[int, list[int]]] = []
    scores: list[float] = []
    tied: list[bool] = []
    rivals: list[tuple[int, int, int, float]] = []  # (group, side, node, score)
    sims: dict[ItemKey, list[float]] = {key: [] for key in candidates.sims}

    def emit(one: int, edge: int, picked: tuple[int, ...], rival: tuple[int, int] | None) -> None:
        group = len(groups)
        groups.append((one, list(picked)))
        total = int(
            units[1][unit_order[np.searchsorted(units[0], np.array(picked), sorter=unit_order)]].sum()
        )
        score = _group_score(
            plan, np.full(len(picked), candidates.score[edge]), total, int(targets[edge]), abs_units
        )
        scores.append(score)
        tied.append(rival is not None)
        if rival is not None:
            rivals.append((group, rival[0], rival[1], score))
        for name, column in candidates.sims.items():
            sims[name].append(float(column[edge]))

    picks: list[Pick] = [(one, *fixed[one], joint_rival.get(one)) for one in sorted(fixed)]
    guesses: list[int] = []
    for one in sorted(by_one, key=lambda one: (one not in sure_left, ways[one], one)):
        edges = by_one[one]
        if ways[one] > MAX_WAYS:
            guesses.append(one)  # too many ways to make the sum: any pick would be a guess
            continue
        for position, edge in enumerate(edges):
            _, count, options = solutions[edge]
            open_options = [o for o in options if not used.intersection(o)]
            if not open_options:
                continue
            # the least contended; among those, the one whose members lie closest in record order (a
            # payment's documents are usually booked together, as in recon.engine.twins)
            picked = min(open_options, key=lambda o: (sum(len(needed[r]) for r in o), max(o) - min(o)))
            rival: tuple[int, int] | None = None
            if count > 1:
                other = options[1] if options[0] == picked else options[0]
                rival = (many_rival, next(r for r in other if r not in picked))
            elif len(edges) > 1:
                other_edge = edges[1] if position == 0 else edges[0]
                rival = (many_rival, solutions[other_edge][2][0][0])
            else:
                others = sorted(set().union(*(wanted.get(r, set()) for r in picked)) - {one})
                if others:
                    rival = (one_rival, others[0])
            used.update(picked)
            picks.append((one, edge, picked, rival))
            break
    group_of = np.full(len(open_mask), -1, np.int64)
    if members.groups is not None and members.rids is not None:
        group_of[members.rids] = members.groups
    left_open = np.flatnonzero(open_mask)
    left_open = left_open[~np.isin(left_open, np.fromiter(used, np.int64, len(used)))]
    picks = exchange_twins(
        picks, group_of=group_of, values_of=values_of, open_rids=left_open, many_rival=many_rival
    )
    for pick in picks:
        emit(*pick)
    one_side, many_side = _expand_groups(groups)
    left, right = (many_side, one_side) if many == "left" else (one_side, many_side)
    result = Rivals(
        np.full(len(groups), NO_RIVAL, np.int8),
        np.full(len(groups), -1, np.int64),
        np.full(len(groups), -np.inf),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
    )
    for group, side, node, score in rivals:
        result.side[group], result.node[group], result.score[group] = side, node, score
    other_side = "right" if many == "left" else "left"
    guesses.sort()
    reasons.note(
        other_side,
        np.array(guesses, np.int64),
        AMBIGUOUS,
        spec.index,
        details=[
            Detail(
                f"{ways[one]} subsets of its group_by groups make its sum in pass '{spec.name}' (one of them "
                f"holds {{rival}}), more than {MAX_WAYS}: none was taken",
                many,
                solutions[by_one[one][0]][2][0][0],
            )
            for one in guesses
        ],
    )
    return Found(
        left, right, np.array(scores), np.array(tied, bool), {k: np.array(v) for k, v in sims.items()}, result
    )


JOINT_MAX_OPEN = 40  # open members of a group split among its records by _joint (at most)
JOINT_MAX_RECORDS = 24  # records of the other side that can draw from one group, for _joint (at most)


def _joint(
    solutions: Solutions,
    by_one: dict[int, list[int]],
    *,
    leader_of: IntArray,
    one_of: IntArray,
    targets: IntArray,
    rids_of: Callable[[int], IntArray],
    values_of: Callable[[IntArray], IntArray],
    free: BoolArray,
    tolerance: tuple[int | None, Decimal | None],
    max_size: int,
    rival_sides: tuple[int, int],
    tried: set[tuple[int, tuple[int, ...], tuple[int, ...]]],
) -> dict[int, tuple[int, tuple[int, ...], tuple[int, int] | None]]:
    """The joint solve of crowded groups: record -> (edge, subset of rids, rival or None).

    A group whose open members two or more records can draw from (edges left by _by_record) is split among
    them at once: every way to give ALL its open members to some of those records, each record's share
    making its sum (recon.engine.subset.exact_covers). Fewest members first, record by record, takes a
    smaller subset of the same total and leaves the next payment of the customer's day without its members;
    a split that uses every member rules such subsets out. When such splits exist, the first is taken:
    a record whose share is the same in every split (and holds no member whose amount another record's
    share holds too: the two could be exchanged) is sure of it; the others name a rival (a member of their
    share in another split, or the record that takes their first member there). No split, too many, a group
    too large, or a record that two groups' splits would use: the group is left to elimination and the
    record by record search."""
    many_rival, one_rival = rival_sides
    abs_units, pct = tolerance
    lines_of: dict[int, list[int]] = {}  # group (first record) -> its records' edges, by record
    for edges in by_one.values():
        for edge in edges:
            lines_of.setdefault(int(leader_of[edge]), []).append(edge)
    planned: dict[int, list[tuple[int, int, tuple[int, ...], tuple[int, int] | None]]] = {}
    for leader in sorted(lines_of):
        edges = sorted(lines_of[leader], key=lambda e: int(one_of[e]))
        if len(edges) > JOINT_MAX_RECORDS:
            # a crowded customer: the records of neighbouring days' payments can make sums from its day
            # too. Split the group among the records that can draw from it alone (its own payments, when
            # every one of them is such a record); the others keep their other groups.
            edges = [e for e in edges if len(by_one[int(one_of[e])]) == 1]
        if len(edges) < 2 or len(edges) > JOINT_MAX_RECORDS:
            continue
        rids = rids_of(leader)
        rids = rids[free[rids]]
        if len(rids) < 2 or len(rids) > JOINT_MAX_OPEN:
            continue
        attempt = (leader, tuple(rids.tolist()), tuple(edges))
        if attempt in tried:
            continue  # searched in an earlier round over the same members and records, without a split
        values = values_of(rids).tolist()
        wanted = [int(targets[e]) for e in edges]
        if abs_units is not None:
            bounds = [(t - abs_units, t + abs_units) for t in wanted]
        else:
            bounds = [sum_bounds(t, None, pct) for t in wanted]
        covers = exact_covers(values, [b[0] for b in bounds], [b[1] for b in bounds], max_size)
        if covers == []:
            # no split uses every member: some are paid elsewhere or not at all. A partial split gives a
            # share to every record that can draw from this group alone and leaves members out.
            alone = [j for j, e in enumerate(edges) if len(by_one[int(one_of[e])]) == 1]
            if len(alone) >= 2:
                edges, bounds = [edges[j] for j in alone], [bounds[j] for j in alone]
                lows, highs = [b[0] for b in bounds], [b[1] for b in bounds]
                covers = exact_covers(values, lows, highs, max_size, nodes=PARTIAL_NODES, partial=True)
        if not covers:
            tried.add(attempt)
            continue
        first = covers[0]
        holder = {k: j for j, share in first.items() for k in share}  # members left out have none
        decided = []
        for j, share in first.items():
            rival: tuple[int, int] | None = None
            for other in covers[1:]:
                theirs = other.get(j)
                if theirs is None:
                    taker = next(line for line, s in other.items() if share[0] in s)
                    rival = (one_rival, int(one_of[edges[taker]]))
                    break
                if sorted(values[k] for k in theirs) != sorted(values[k] for k in share):
                    rival = (many_rival, int(rids[next(k for k in theirs if k not in share)]))
                    break
            if rival is None:
                twin = next(
                    (
                        k
                        for k in range(len(values))
                        if holder.get(k) != j and any(values[k] == values[own] for own in share)
                    ),
                    None,
                )
                if twin is not None:
                    rival = (many_rival, int(rids[twin]))
            decided.append((int(one_of[edges[j]]), edges[j], tuple(int(rids[k]) for k in share), rival))
        planned[leader] = decided
    claims = Counter(one for decided in planned.values() for one, _, _, _ in decided)
    result: dict[int, tuple[int, tuple[int, ...], tuple[int, int] | None]] = {}
    for decided in planned.values():
        if all(claims[one] == 1 for one, _, _, _ in decided):
            for one, edge, subset, rival in decided:
                result[one] = (edge, subset, rival)
    return result


GROUPS_PER_CHUNK = 10_000  # groups whose candidates are gathered at once by _kept_candidates (at most)
PAIRS_PER_CHUNK = 2_000_000  # candidate pairs aimed at per chunk (the groups of a chunk follow the last rate)
Solve = Callable[[Iterable[int], dict[int, IntArray], tuple[IntArray, IntArray], Solutions], None]


def _blocks(leader_of: IntArray, one_of: IntArray) -> dict[int, IntArray]:
    """Group (its first record) -> its candidate edges, ordered by the other side's record."""
    blocks: dict[int, IntArray] = {}
    order = np.lexsort((one_of, leader_of))
    # the first edge of each group's run of edges (none when no group has a candidate)
    bounds_at = np.flatnonzero(np.r_[len(order) > 0, leader_of[order][1:] != leader_of[order][:-1]])
    for k, begin in enumerate(bounds_at.tolist()):
        end = int(bounds_at[k + 1]) if k + 1 < len(bounds_at) else len(order)
        blocks[int(leader_of[order[begin]])] = order[begin:end]
    return blocks


def _kept_candidates(
    session: Session,
    plan: PassPlan,
    offered: tuple[IntArray, IntArray],
    *,
    many: str,
    scale: int,
    window: tuple[int, int] | None,
    solve: Solve,
    reach: tuple[IntArray, IntArray],
) -> tuple[PairCandidates, Solutions]:
    """The candidate edges of the groups in which some record's sum can be made (every edge of such a
    group, for the searches after elimination), with their first solutions, numbered in (left, right)
    order. Gathered GROUPS_PER_CHUNK groups at a time: on a crowded book the pairs of every group with
    every record of its window grow faster than the input (at 2M classic 1.8M pairs, most of them making
    no sum), and only the groups that can make a sum are kept. A chunk holds at most GROUPS_PER_CHUNK
    groups, fewer when the last chunk's groups had many candidates each (about PAIRS_PER_CHUNK pairs).
    `reach`: per group (as `offered`), the lowest and highest target any of its subsets can meet
    (_reachable); the join leaves out the pairs outside it, before their names are compared."""
    leaders = offered[0] if many == "left" else offered[1]
    session.pass_table("pl2", "left", plan, offered[0], "probe")
    session.pass_table("pr2", "right", plan, offered[1], "build")
    hot = session.hot_blocks(plan, "pl2", "pr2")  # crowded by all groups' pairs, not a chunk's
    extra = {side: f"CAST(round({side}.__sv * {10**scale}) AS BIGINT)" for side in ("l", "r")}
    columns = {LEFT_UNITS: extra["l"], RIGHT_UNITS: extra["r"]}
    if window is not None:
        alias = condition_alias(window[0])
        columns[dates.DIFF_COLUMN] = f"r.{alias} - l.{alias}"

    grouped, other = ("l", "r") if many == "left" else ("r", "l")
    in_reach = (f"{extra[other]} BETWEEN {grouped}.__lo AND {grouped}.__hi",)
    position_of = np.argsort(leaders)

    def gather(chunk: IntArray) -> tuple[PairCandidates | None, Solutions, int]:
        """The chunk's kept candidates (None: no group makes a sum), their solutions, its pair count."""
        if many == "left":
            session.pass_table("pl2", "left", plan, chunk, "probe")
        else:
            session.pass_table("pr2", "right", plan, chunk, "build")
        at = position_of[np.searchsorted(leaders, chunk, sorter=position_of)]
        session.register("__reach", pa.table({"__rid": chunk, "__lo": reach[0][at], "__hi": reach[1][at]}))
        table = "pl2" if many == "left" else "pr2"
        session.run(
            f"CREATE OR REPLACE TEMP TABLE {table}r AS SELECT p.*, g.__lo, g.__hi "
            f"FROM {table} p JOIN __reach g ON g.__rid = p.__rid"
        )
        tables = ("pl2r", "pr2") if many == "left" else ("pl2", "pr2r")
        with stage(f"{plan.name}: {len(chunk):,} groups of {len(leaders):,}, their candidates"):
            part = session.pair_candidates(plan, *tables, columns, in_reach, hot=hot)
        leader_of, one_of = (part.left, part.right) if many == "left" else (part.right, part.left)
        targets = np.asarray(part.extra[RIGHT_UNITS if many == "left" else LEFT_UNITS], np.int64)
        blocks = _blocks(leader_of, one_of)
        found: Solutions = {}
        solve(blocks, blocks, (one_of, targets), found)
        if not found:
            return None, {}, len(leader_of)
        positions = np.flatnonzero(np.isin(leader_of, leader_of[np.fromiter(found, np.int64, len(found))]))
        local = {int(np.searchsorted(positions, edge)): answer for edge, answer in found.items()}
        return part.subset(positions), local, len(leader_of)

    kept: list[PairCandidates] = []
    solutions: Solutions = {}
    offset, begin, size = 0, 0, GROUPS_PER_CHUNK
    while begin == 0 or begin < len(leaders):
        chunk = leaders[begin : begin + size]
        begin += max(len(chunk), 1)
        part, found, pairs = gather(chunk)
        # the next chunk: as many groups as make about PAIRS_PER_CHUNK pairs at this chunk's rate
        rate = pairs / max(len(chunk), 1)
        size = max(1, min(GROUPS_PER_CHUNK, int(PAIRS_PER_CHUNK / max(rate, 1.0))))
        if part is None:
            continue
        solutions.update({offset + edge: answer for edge, answer in found.items()})
        kept.append(part)
        offset += len(part.left)
    candidates = _concat_candidates(kept, columns)
    # numbered in (left, right) order, as one query would have returned them
    order = np.lexsort((candidates.right, candidates.left))
    renumber = np.empty(len(order), np.int64)
    renumber[order] = np.arange(len(order))
    solutions = {int(renumber[edge]): answer for edge, answer in sorted(solutions.items())}
    return candidates.subset(order), dict(sorted(solutions.items()))


def _reachable(
    leaders: IntArray,
    members: Membership,
    values_of: Callable[[IntArray], IntArray],
    open_mask: BoolArray,
    *,
    max_size: int,
    tolerance: tuple[int | None, Decimal | None],
) -> tuple[IntArray, IntArray]:
    """Per group (by its first record): the lowest and the highest sum of 2..max_size of its open members
    (the k smallest, the k largest), widened by the sum tolerance: no target outside can be made, now or
    after elimination has taken members (a group's reachable sums only shrink)."""
    owner, rids = members.expand(leaders)
    keep = open_mask[rids]
    owner, values = owner[keep], values_of(rids[keep])
    order = np.lexsort((values, owner))
    owner, values = owner[order], values[order]
    counts = np.bincount(owner, minlength=len(leaders))
    starts = np.cumsum(counts) - counts
    running = np.r_[0, np.cumsum(values)]
    total = running[starts + counts] - running[starts]
    low = np.full(len(leaders), np.iinfo(np.int64).max // 4)
    high = np.full(len(leaders), np.iinfo(np.int64).min // 4)
    for k in range(2, max_size + 1):
        can = counts >= k
        smallest = running[np.minimum(starts + k, len(values))] - running[starts]
        largest = total - (running[np.maximum(starts + counts - k, 0)] - running[starts])
        low = np.where(can, np.minimum(low, smallest), low)
        high = np.where(can, np.maximum(high, largest), high)
    abs_units, pct = tolerance
    if abs_units is not None:
        return low - abs_units, high + abs_units
    assert pct is not None
    # |s - t| <= q max(|s|, |t|): |t| <= |s| / (1 - q), so t lies within |s| q / (1 - q) of s
    q = Fraction(pct) / 100
    largest = np.where(low <= high, np.maximum(np.abs(low), np.abs(high)), 0)
    widen = np.array([ceil(int(v) * q / (1 - q)) + 1 for v in largest.tolist()], np.int64)
    return low - widen, high + widen


def _concat_candidates(parts: list[PairCandidates], extra: Iterable[str]) -> PairCandidates:
    if not parts:
        none = np.zeros(0, np.int64)
        return PairCandidates(
            none, none, np.zeros(0), np.zeros(0, bool), extra={name: none for name in extra}
        )
    return PairCandidates(
        np.concatenate([p.left for p in parts]),
        np.concatenate([p.right for p in parts]),
        np.concatenate([p.score for p in parts]),
        np.concatenate([p.compare_ok for p in parts]),
        {name: np.concatenate([p.sims[name] for p in parts]) for name in parts[0].sims},
        {name: np.concatenate([p.compares[name] for p in parts]) for name in parts[0].compares},
        {name: np.concatenate([p.extra[name] for p in parts]) for name in parts[0].extra},
    )


def _by_record(
    solutions: Solutions, one_of: IntArray, leader_of: IntArray, date_bits: FloatArray
) -> dict[int, list[int]]:
    """Per record of the other side: its edges with a subset, fewest members first, then the likelier
    date difference, then the group's first record; without the edges whose date difference is
    DECISIVE_BITS less likely than the record's likeliest one (a group dated after the bank line)."""
    by_one: dict[int, list[int]] = {}
    for edge in sorted(
        solutions, key=lambda e: (int(one_of[e]), solutions[e][0], -date_bits[e], int(leader_of[e]))
    ):
        by_one.setdefault(int(one_of[edge]), []).append(edge)
    for one, edges in by_one.items():
        best = max(float(date_bits[e]) for e in edges)
        by_one[one] = [e for e in edges if date_bits[e] >= best - dates.DECISIVE_BITS]
    return by_one


def _date_bits(
    diff: npt.NDArray[np.generic] | None,
    window: tuple[int, int] | None,
    solutions: Solutions,
    one_of: IntArray,
) -> FloatArray:
    """Per candidate edge: the weight in bits of its date difference (0 without date evidence), estimated
    from the edges whose group can make the record's sum (dates.estimate_for_records)."""
    bits = np.zeros(len(one_of))
    if diff is None or window is None or not solutions:
        return bits
    diffs = np.asarray(diff, np.int64)
    edges = np.array(sorted(solutions), np.int64)
    evidence = dates.estimate_for_records(one_of[edges], diffs[edges], window[1])
    if evidence is None:
        return bits
    clipped = np.clip(diffs, -window[1], window[1])
    return evidence.level_bits(clipped)


def _all_on_group_columns(plan: PassPlan) -> bool:
    spec = plan.spec
    columns = set(spec.group_by)
    side = spec.many_sides[0]
    read = [cond.left if side == "left" else cond.right for cond in spec.match]
    read += [item.left if side == "left" else item.right for item in spec.score]
    return all(column in columns for column in read)


def _units(session: Session, table: str, plan: PassPlan) -> dict[int, IntArray]:
    """Summed amounts of the grouped side's open records in the units of the subset search, by rid."""
    scale = units_scale(session, plan)
    result = session.arrow(f"SELECT __rid, CAST(round(__sv * {10**scale}) AS BIGINT) AS u FROM {table}")
    rids = np.asarray(result.column("__rid").to_numpy(), np.int64)
    values = np.asarray(result.column("u").fill_null(0).to_numpy(zero_copy_only=False), np.int64)
    return {0: rids, 1: values}


def _joined(first: Found, second: Found) -> Found:
    """The groups of `first`, then those of `second` (numbered after them)."""
    offset = len(first.score)
    rivals = None
    if first.rivals is not None or second.rivals is not None:
        parts = [_rivals_of(found) for found in (first, second)]
        rivals = Rivals(
            np.concatenate([p.side for p in parts]),
            np.concatenate([p.node for p in parts]),
            np.concatenate([p.score for p in parts]),
            np.union1d(parts[0].losers_left, parts[1].losers_left),
            np.union1d(parts[0].losers_right, parts[1].losers_right),
        )
    return Found(
        (
            np.concatenate([first.left[0], second.left[0] + offset]),
            np.concatenate([first.left[1], second.left[1]]),
        ),
        (
            np.concatenate([first.right[0], second.right[0] + offset]),
            np.concatenate([first.right[1], second.right[1]]),
        ),
        np.concatenate([first.score, second.score]),
        np.concatenate([first.tied, second.tied]),
        {name: np.concatenate([values, second.sims[name]]) for name, values in first.sims.items()},
        rivals,
    )


def _rivals_of(found: Found) -> Rivals:
    if found.rivals is not None:
        return found.rivals
    n = len(found.score)
    none = np.zeros(0, np.int64)
    return Rivals(np.full(n, NO_RIVAL, np.int8), np.full(n, -1, np.int64), np.full(n, -np.inf), none, none)


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
    aliases = sorted({key.alias for key in plan.keys if key.condition is not None})
    carried = "".join(f", any_value(p.{alias}) AS {alias}" for alias in aliases)
    role = "probe" if side == "left" else "build"
    bands = band_columns(plan, SUM_ALIAS, role) if plan.band is not None else {}
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
    select = ["c.lg", "c.rg", "c.__sclose", "l.__rid AS __mlr", "r.__rid AS __mrr"]
    checks = [check.sql for check in plan.checks if check.sql is not None]
    select.append(f"({' AND '.join(checks) or 'true'}) AS __ok")
    select += similarity_columns(plan)
    select.append(f"{sql.mean(plan.closeness)} AS __close")
    table = session.arrow(f"SELECT {', '.join(select)} FROM {source} ORDER BY c.lg, c.rg")
    lg = np.asarray(table.column("lg").to_numpy(), dtype=np.int64)
    rg = np.asarray(table.column("rg").to_numpy(), dtype=np.int64)
    if len(lg) == 0:
        empty = np.zeros(0)
        return PairCandidates(lg, rg, empty, np.zeros(0, bool))
    members = (
        np.asarray(table.column("__mlr").to_numpy(), dtype=np.int64),
        np.asarray(table.column("__mrr").to_numpy(), dtype=np.int64),
    )
    starts = np.flatnonzero(np.r_[True, (lg[1:] != lg[:-1]) | (rg[1:] != rg[:-1])])
    counts = np.diff(np.append(starts, len(lg)))
    ok = np.asarray(table.column("__ok").to_numpy(zero_copy_only=False), dtype=bool)
    for check in plan.checks:
        if check.text is not None and check.sql is None:
            sim = session.similarity(check.text, table, check.key, members)
            ok &= sim >= check.minimum - 1e-12
    group_ok = np.logical_and.reduceat(ok, starts)
    sims: dict[ItemKey, FloatArray] = {}
    for part in plan.scores:
        values = session.similarity(part.text, table, part.key, members)
        sims[part.key] = np.add.reduceat(values, starts) / counts
    sum_close = _floats(table, "__sclose")[starts]
    if plan.scores:
        weights = sum(part.weight for part in plan.scores)
        score = sum(part.weight * sims[part.key] for part in plan.scores) / weights
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
    unsure = found.tied[order].copy()
    if found.rivals is not None and found.rivals.present.any():
        rivals = Rivals(
            found.rivals.side[order],
            found.rivals.node[order],
            found.rivals.score[order],
            *([np.zeros(0, np.int64)] * 2),
        )
        unsure |= rivals.present
        with_rival = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(explanation, 0, -1), rival_text(session, rivals), "}", ""
        )
        explanation = with_rival.combine_chunks() if isinstance(with_rival, pa.ChunkedArray) else with_rival
    status = decide_status(plan.spec, score, unsure, compare_ok)
    return PassResult(plan.spec, group, side, rid, status, score, explanation)


def _floats(table: pa.Table, column: str) -> FloatArray:
    values = table.column(column).cast(pa.float64()).fill_null(0.0)
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
