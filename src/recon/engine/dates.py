"""Date closeness as evidence in scored one_to_one passes (ADR 0020).

A scored `one_to_one` pass with a date window (`within_days` / `within_business_days`, days > 0) weighs the
signed date difference (right - left, in the window's unit) of each candidate as a Fellegi-Sunter comparison
level, estimated from the pass's own candidates without labels:

- m(d), how often a true pair is d apart: the candidates that are the only candidate of both their records
  (no rival on either side: nearly all true pairs, whatever their date);
- u(d), how often an unrelated pair is d apart: the other candidates (records with more than one candidate:
  crowded blocks, where most candidates are unrelated records that met inside the window; the true pairs
  among them make u look a little like m, so the estimate errs towards less evidence, not more);
- both with one pseudo-count per level; the level's weight is log2(m(d) / u(d)) in bits, clipped to +-6.

The pass's score (the weighted similarity the user's `min_score` and `suggest_below` are written on) is
unchanged; the assignment and the margin rule compare the *decision score*: the score minus
SCORE_PER_BIT for every bit a candidate's date level lies below the best level (at most 12 bits: 0.15).
A date difference 16 times less likely than the best one (4 bits) therefore weighs one default margin (0.05):
of two candidates with equal texts, the one with the likely date difference wins and is decided when the
other's difference is at least 16 times less likely; close dates (a factor below 16) stay `suggested`.
When the date difference says nothing (the same distribution for pairs and non-pairs), every level weighs
about the same and nothing changes. Too few candidates to estimate (fewer than MIN_CONFIDENT of either
kind): no date evidence for that pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# The rule's weights and penalties per level are plain Python (recon.engine.date_levels), shared with instant
# reconciliation; this module applies them to a run's candidates as arrays.
from recon.engine.arrays import FloatArray, IntArray
from recon.engine.date_levels import (
    MAX_BITS,
    MAX_PENALTY_BITS,
    MIN_CONFIDENT,
    SCORE_PER_BIT,
    date_window,
    level_penalties,
    level_weights,
)
from recon.engine.model import PassSpec

__all__ = ["MAX_BITS", "MAX_PENALTY_BITS", "MIN_CONFIDENT", "SCORE_PER_BIT", "DateEvidence", "date_window"]


DECISIVE_BITS = 4.0  # a candidate group this far below a record's best date level is dropped (ratio 16)
DIFF_COLUMN = "__date_diff"


@dataclass
class DateEvidence:
    """Per signed date difference (lo..hi in the window's unit): its weight in bits and its penalty."""

    lo: int
    bits: FloatArray  # log2(m / u) per level lo..hi
    m_pairs: int  # candidates m was estimated from
    u_pairs: int

    def level_bits(self, diff: IntArray) -> FloatArray:
        index = np.clip(diff - self.lo, 0, len(self.bits) - 1)
        return np.asarray(self.bits[index], dtype=np.float64)

    def penalty(self, diff: IntArray) -> FloatArray:
        """Score units (<= 0) per candidate: bits below the best level, times SCORE_PER_BIT."""
        table = np.asarray(level_penalties(self.bits.tolist()), dtype=np.float64)
        return np.asarray(table[np.clip(diff - self.lo, 0, len(self.bits) - 1)], dtype=np.float64)


def grouped_window(spec: PassSpec) -> tuple[int, int] | None:
    """(condition index, days) of the first date window of a grouped pass, if any: the subsets inside
    group_by groups weigh each candidate group's date difference (groups.py, ADR 0023)."""
    if spec.kind == "one_to_one" or not spec.date_evidence:
        return None
    for index, cond in enumerate(spec.match):
        if cond.op in ("within_days", "within_business_days") and (cond.days or 0) > 0:
            return index, int(cond.days or 0)
    return None


def extra_columns(spec: PassSpec, alias: str | None) -> dict[str, str]:
    """The SELECT item (over the pass tables' l./r. aliases) of the signed date difference, if it applies."""
    if alias is None or date_window(spec) is None:
        return {}
    return {DIFF_COLUMN: f"r.{alias} - l.{alias}"}


def estimate(left: IntArray, right: IntArray, diff: IntArray, days: int) -> DateEvidence | None:
    """m and u of every signed difference -days..days from the candidates (see the module doc)."""
    n = len(left)
    if n == 0:
        return None
    diff = np.clip(np.asarray(diff, np.int64), -days, days)
    _, li = np.unique(left, return_inverse=True)
    _, ri = np.unique(right, return_inverse=True)
    li, ri = li.reshape(-1), ri.reshape(-1)
    deg_l = np.bincount(li)
    deg_r = np.bincount(ri)
    lone = (deg_l[li] == 1) & (deg_r[ri] == 1)
    return _levels(diff, lone, days)


def estimate_for_records(record: IntArray, diff: IntArray, days: int) -> DateEvidence | None:
    """m and u of every signed difference -days..days from the candidate groups of a grouped pass: m from
    the records with one candidate group (the sum can be made in one place only: nearly all true), u from
    the candidates of records with several (coincidences in neighbouring days, with the true one among
    them: errs towards less evidence, as in estimate())."""
    if len(record) == 0:
        return None
    diff = np.clip(np.asarray(diff, np.int64), -days, days)
    _, index = np.unique(record, return_inverse=True)
    index = index.reshape(-1)
    return _levels(diff, np.bincount(index)[index] == 1, days)


def _levels(diff: IntArray, lone: npt.NDArray[np.bool_], days: int) -> DateEvidence | None:
    loser = ~lone
    m_pairs, u_pairs = int(lone.sum()), int(loser.sum())
    levels = 2 * days + 1
    m = np.bincount(diff[lone] + days, minlength=levels)
    u = np.bincount(diff[loser] + days, minlength=levels)
    bits = level_weights(m.tolist(), u.tolist())  # None below MIN_CONFIDENT of either kind
    if bits is None:
        return None
    return DateEvidence(-days, np.asarray(bits, dtype=np.float64), m_pairs, u_pairs)


def decision_scores(
    spec: PassSpec, left: IntArray, right: IntArray, score: FloatArray, diff: IntArray | None
) -> tuple[FloatArray, DateEvidence | None]:
    """The scores the assignment and the margin rule compare: score + the date penalty (see module doc)."""
    window = date_window(spec)
    if window is None or diff is None:
        return score, None
    evidence = estimate(left, right, diff, window[1])
    if evidence is None:
        return score, None
    return np.clip(score + evidence.penalty(diff), 0.0, 1.0), evidence
