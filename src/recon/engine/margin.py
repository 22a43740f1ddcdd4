"""The margin rule: a pairing is decided only when it is clearly the best for both of its nodes.

After the assignment, a chosen edge (l, r) with score s has a *rival* when another candidate of l or of r
scores at least s - margin, unless that other node is clearly better off elsewhere (its own chosen edge
scores more than the rival edge + margin: it would not want this partner). A chosen edge with a rival is
`suggested` and its explanation names the best rival; an unassigned node that was such a rival lost only
by a near-tie and is unmatched as `ambiguous`.

Nodes are record indexes for one_to_one passes and group or record nodes for grouped passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from recon.engine.arrays import FloatArray, Int8Array, IntArray

NO_RIVAL, LEFT_RIVAL, RIGHT_RIVAL = -1, 0, 1
_EPS = 1e-9


@dataclass
class Rivals:
    """Per chosen edge: the best rival (side -1 none, 0 a left node, 1 a right node), its node and score;
    and the unassigned nodes that were rivals (they lost a near-tie)."""

    side: Int8Array
    node: IntArray
    score: FloatArray
    losers_left: IntArray
    losers_right: IntArray

    @property
    def present(self) -> npt.NDArray[np.bool_]:
        return np.asarray(self.side != NO_RIVAL, dtype=bool)


def find_rivals(
    left: IntArray, right: IntArray, score: FloatArray, chosen: IntArray, margin: float
) -> Rivals:
    """Rivals of the chosen edges (indices into left/right/score) among all candidate edges."""
    n_chosen = len(chosen)
    side = np.full(n_chosen, NO_RIVAL, np.int8)
    node = np.full(n_chosen, -1, np.int64)
    best = np.full(n_chosen, -np.inf)
    none = np.zeros(0, np.int64)
    if n_chosen == 0 or len(left) == n_chosen:
        return Rivals(side, node, best, none, none)
    size_l = int(left.max()) + 1
    size_r = int(right.max()) + 1
    slot_l = np.full(size_l, -1, np.int64)  # chosen edge position per node
    slot_r = np.full(size_r, -1, np.int64)
    slot_l[left[chosen]] = np.arange(n_chosen)
    slot_r[right[chosen]] = np.arange(n_chosen)
    own_l = np.full(size_l, -np.inf)
    own_r = np.full(size_r, -np.inf)
    own_l[left[chosen]] = score[chosen]
    own_r[right[chosen]] = score[chosen]
    other = np.ones(len(left), bool)
    other[chosen] = False
    k = np.flatnonzero(other)
    lk, rk, sk = left[k], right[k], score[k]
    losers: list[IntArray] = [none, none]
    # (the chosen edge's node, the rival node on the other side, the rival node's own best score)
    for mine, theirs, slot, own, theirs_own, rival_side in (
        (lk, rk, slot_l, own_l, own_r, RIGHT_RIVAL),
        (rk, lk, slot_r, own_r, own_l, LEFT_RIVAL),
    ):
        at = slot[mine]
        close = (at >= 0) & (sk >= own[mine] - margin - _EPS) & (theirs_own[theirs] <= sk + margin + _EPS)
        if not close.any():
            continue
        positions, rival_nodes, rival_scores = at[close], theirs[close], sk[close]
        unassigned = rival_nodes[np.isneginf(theirs_own[rival_nodes])]
        losers[rival_side] = np.union1d(losers[rival_side], unassigned)
        order = np.lexsort((rival_nodes, -rival_scores, positions))
        positions, rival_nodes, rival_scores = positions[order], rival_nodes[order], rival_scores[order]
        first = np.r_[True, positions[1:] != positions[:-1]]
        positions, rival_nodes, rival_scores = positions[first], rival_nodes[first], rival_scores[first]
        better = rival_scores > best[positions]
        positions, rival_nodes, rival_scores = positions[better], rival_nodes[better], rival_scores[better]
        side[positions] = rival_side
        node[positions] = rival_nodes
        best[positions] = rival_scores
    return Rivals(side, node, best, losers[LEFT_RIVAL], losers[RIGHT_RIVAL])
