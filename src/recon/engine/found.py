"""Shared pieces of grouped passes: found groups, group membership, below-min-score bookkeeping."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recon.engine.arrays import BoolArray, FloatArray, IntArray
from recon.engine.executor import PairCandidates
from recon.engine.margin import Rivals
from recon.engine.passes import BELOW_MIN_SCORE, Reasons
from recon.engine.planner import ItemKey, PassPlan


@dataclass
class Found:
    """Groups before ordering: member rids per side with their group number, and per-group figures."""

    left: tuple[IntArray, IntArray]  # (group, rid)
    right: tuple[IntArray, IntArray]
    score: FloatArray
    tied: BoolArray
    sims: dict[ItemKey, FloatArray]
    rivals: Rivals | None = None  # per group: the best rival node (a record index, or a group's first one)


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


def note_below(
    reasons: Reasons, plan: PassPlan, candidates: PairCandidates, members: dict[str, Membership]
) -> None:
    for side in ("left", "right"):
        nodes = getattr(candidates, f"below_{side}")
        best = getattr(candidates, f"below_best_{side}")
        owner, rids = members[side].expand(nodes)
        reasons.note(side, rids, BELOW_MIN_SCORE, plan.spec.index, best=best[owner])
