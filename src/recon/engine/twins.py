"""Twins inside a group_by group: members of equal amount that two subsets (or a subset and the members left
open) could exchange without changing any sum.

Several payments of one customer's day share its group_by group, and round or repeated amounts (100.00,
250.00, a monthly fee) make members that the sums cannot tell apart: whichever subset holds which twin, every
record's sum is still made. The subset search picks one of them by its own order, which is a guess. A twin is
instead given to the subset whose other members lie nearest to it in record order (the side's id order):
documents paid together are usually booked together and numbered in sequence (an invoice run, a payment
proposal), so a twin next to a subset's other members is the likelier one. The exchange never changes a
subset's total, its size or the records it pays. A subset with a twin in another subset or among the
group's open members is never sure of it (the sums alone have two answers): it names the twin as its rival
and ends `suggested`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import linear_sum_assignment

from recon.engine.arrays import IntArray

FAR = 1 << 40  # distance of a twin to a subset without other members (any exchange is then neutral)
SWEEPS = 2  # passes over the twin classes (an exchange moves the anchors of the next class)

Pick = tuple[int, int, tuple[int, ...], tuple[int, int] | None]  # (record, edge, members, rival or None)


def exchange_twins(
    picks: list[Pick],
    *,
    group_of: IntArray,
    values_of: Callable[[IntArray], IntArray],
    open_rids: IntArray,
    many_rival: int,
) -> list[Pick]:
    """The picks with the twins of each group_by group placed nearest their subsets' other members.

    `group_of`: group_by group (any number per group, -1 for none) by rid; `open_rids`: the grouped side's
    records still open after the picks (members left over: they form one more slot per group, anchored by
    the group's other open members). Picks whose members change and had no rival name the twin they gave
    away (`many_rival` side)."""
    if not picks:
        return picks
    subsets = [list(p[2]) for p in picks]
    slot_rids = np.array([r for s in subsets for r in s], np.int64)
    slot_of = np.repeat(np.arange(len(subsets)), [len(s) for s in subsets])
    pool = np.setdiff1d(open_rids, slot_rids)
    pool = (
        pool[np.isin(group_of[pool], group_of[slot_rids])] if len(pool) else pool
    )  # only groups picked from
    # slots: the picks' subsets (0..n-1) and, per group, its open members (n + k)
    pool_groups, pool_slot = np.unique(group_of[pool], return_inverse=True)
    holders = [*subsets, *[[] for _ in range(len(pool_groups))]]
    for rid, slot in zip(pool.tolist(), (pool_slot + len(subsets)).tolist(), strict=True):
        holders[slot].append(rid)
    rids = np.concatenate([slot_rids, pool]).astype(np.int64)
    if len(rids) < 2:
        return picks
    values = values_of(rids)
    groups = group_of[rids]
    key = np.lexsort((values, groups))
    same = (groups[key][1:] == groups[key][:-1]) & (values[key][1:] == values[key][:-1])
    starts = np.flatnonzero(np.r_[True, ~same])
    ends = np.r_[starts[1:], len(key)]
    classes = [rids[key[a:b]] for a, b in zip(starts.tolist(), ends.tolist(), strict=True) if b - a > 1]
    if not classes:
        return picks
    slot_at = {int(r): int(s) for r, s in zip(slot_rids.tolist(), slot_of.tolist(), strict=True)}
    slot_at.update(
        {int(r): int(s) + len(subsets) for r, s in zip(pool.tolist(), pool_slot.tolist(), strict=True)}
    )
    for _ in range(SWEEPS):
        moved = False
        for twins in classes:
            slots = [slot_at[int(r)] for r in twins.tolist()]
            if len(set(slots)) < 2:
                continue
            members = set(twins.tolist())
            cost = np.empty((len(twins), len(slots)), np.int64)
            for j, slot in enumerate(slots):
                anchors = np.array([r for r in holders[slot] if r not in members], np.int64)
                if len(anchors) == 0:
                    cost[:, j] = FAR
                else:
                    cost[:, j] = np.abs(twins[:, None] - anchors[None, :]).min(axis=1)
            current = int(cost[np.arange(len(slots)), np.arange(len(slots))].sum())
            rows, cols = linear_sum_assignment(cost)
            if int(cost[rows, cols].sum()) >= current:
                continue  # the picks' own placement is as near: keep it (no change without a gain)
            for slot in set(slots):
                holders[slot] = [r for r in holders[slot] if r not in members]
            for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
                rid, slot = int(twins[i]), slots[j]
                holders[slot].append(rid)
                slot_at[rid] = slot
            moved = True
        if not moved:
            break
    # a twin in another slot of the group: the pick's sum had another answer, so it is not sure of it
    twin_elsewhere: dict[int, int] = {}
    for twins in classes:
        for rid in twins.tolist():
            slot = slot_at[int(rid)]
            if slot < len(subsets) and slot not in twin_elsewhere:
                other = next((int(r) for r in twins.tolist() if slot_at[int(r)] != slot), None)
                if other is not None:
                    twin_elsewhere[slot] = other
    result: list[Pick] = []
    for index, (one, edge, old, was) in enumerate(picks):
        new, rival = tuple(sorted(holders[index])), was
        if set(new) != set(old):
            given = sorted(set(old) - set(new))
            if rival is None or (rival[0] == many_rival and rival[1] in new):
                rival = (many_rival, given[0])
        if rival is None and index in twin_elsewhere:
            rival = (many_rival, twin_elsewhere[index])
        result.append((one, edge, new, rival))
    return result
