"""The decision rule of date evidence (ADR 0020) in plain Python, without NumPy: the per-level weights and
penalties that recon.engine.dates applies to a run's candidates, and that instant reconciliation (in the API
process, which has no data stack) applies to a request's candidates. See recon.engine.dates for the rule."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence

from recon.engine.model import PassSpec

SCORE_PER_BIT = 0.0125  # 4 bits (a likelihood ratio of 16) = the default margin 0.05
MAX_BITS = 6.0  # a level's weight is clipped to +-6 bits (one pseudo-count is not a measurement)
MAX_PENALTY_BITS = 2 * MAX_BITS  # a date difference counts at most 0.15 against a pair
MIN_CONFIDENT = 30  # lone pairs and losing pairs needed to estimate m and u


def date_window(spec: PassSpec) -> tuple[int, int] | None:
    """(condition index, days) of the first date window of a scored one_to_one pass, if any."""
    if spec.kind != "one_to_one" or not spec.score or not spec.date_evidence:
        return None
    for index, cond in enumerate(spec.match):
        if cond.op in ("within_days", "within_business_days") and (cond.days or 0) > 0:
            return index, int(cond.days or 0)
    return None


def level_weights(m_counts: Sequence[int], u_counts: Sequence[int]) -> list[float] | None:
    """log2(m / u) in bits per level (-days..days), one pseudo-count per level, clipped to +-MAX_BITS; None
    with fewer than MIN_CONFIDENT lone or losing candidates (no date evidence)."""
    if sum(m_counts) < MIN_CONFIDENT or sum(u_counts) < MIN_CONFIDENT:
        return None
    m_total = sum(m_counts) + len(m_counts)
    u_total = sum(u_counts) + len(u_counts)
    return [
        min(max(math.log2(((m + 1.0) / m_total) / ((u + 1.0) / u_total)), -MAX_BITS), MAX_BITS)
        for m, u in zip(m_counts, u_counts, strict=True)
    ]


def level_penalties(bits: Sequence[float]) -> list[float]:
    """Score units (<= 0) per level: the bits below the best level, times SCORE_PER_BIT."""
    best = max(bits)
    return [max(min(b - best, 0.0), -MAX_PENALTY_BITS) * SCORE_PER_BIT for b in bits]


def count_levels(
    left: Sequence[Hashable], right: Sequence[Hashable], diff: Sequence[int], days: int
) -> tuple[list[int], list[int]]:
    """Per level -days..days: the candidates that are the only one of both their records (m) and the others
    (u), from candidate pairs (left record, right record, right - left clipped to the window)."""
    degree_left, degree_right = Counter(left), Counter(right)
    m_counts, u_counts = [0] * (2 * days + 1), [0] * (2 * days + 1)
    for a, b, d in zip(left, right, diff, strict=True):
        level = min(max(d, -days), days) + days
        if degree_left[a] == 1 and degree_right[b] == 1:
            m_counts[level] += 1
        else:
            u_counts[level] += 1
    return m_counts, u_counts


def decision_score(score: float, penalty: float) -> float:
    """The score the assignment and the margin rule compare: score + the date penalty, within 0..1."""
    return min(max(score + penalty, 0.0), 1.0)
