"""Date closeness as evidence in scored one_to_one passes (recon.engine.dates, ADR 0020)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon.engine import reconcile
from recon.engine.dates import MAX_PENALTY_BITS, SCORE_PER_BIT, estimate

from .helpers import groups_of, near_pass, rules_for, side

NEAR = near_pass("name", days=4)
START = dt.date(2024, 3, 4)


def _day(offset: int) -> str:
    return (START + dt.timedelta(days=offset)).isoformat()


def _data(lone: int, crowded: int, rival_offset: int) -> tuple[object, object]:
    """`lone` pairs whose bank line comes 0-1 days after the ledger line (the only candidates of each
    other), then `crowded` blocks of one bank line and two ledger lines of the same customer and amount:
    the true one the day before the bank line, the other `rival_offset` days from it."""
    ids_l, amounts_l, dates_l, names_l = [], [], [], []
    ids_r, amounts_r, dates_r, names_r = [], [], [], []
    for k in range(lone):
        amount = f"{100 + k}.13"
        ids_l.append(f"L{k:03d}")
        ids_r.append(f"R{k:03d}")
        amounts_l.append(amount)
        amounts_r.append(amount)
        dates_l.append(_day(k % 20))
        dates_r.append(_day(k % 20 + k % 2))
        names_l.append(f"CUSTOMER {k:03d} TRADING")
        names_r.append(f"CUSTOMER {k:03d} TRADING")
    for k in range(crowded):
        amount = f"{5000 + k}.00"
        day = 40 + (k % 20)
        ids_l += [f"T{k:03d}", f"W{k:03d}"]
        ids_r.append(f"B{k:03d}")
        amounts_l += [amount, amount]
        amounts_r.append(amount)
        dates_l += [_day(day - 1), _day(day - 1 + rival_offset)]
        dates_r.append(_day(day))
        names_l += [f"CLIENT {k:03d} SERVICES"] * 2
        names_r.append(f"CLIENT {k:03d} SERVICES")
    left = side(ids_l, amounts_l, dates_l, name=names_l)
    right = side(ids_r, amounts_r, dates_r, name=names_r)
    return left, right


def test_estimate_weighs_likely_differences_above_unlikely_ones() -> None:
    rng = np.random.default_rng(3)
    n = 400
    # lone pairs: differences 0 or 1; left nodes with two candidates: the true one (0 or 1 day), and one
    # uniform over -4..4
    left = np.r_[np.arange(n), np.repeat(np.arange(n, 2 * n), 2)]
    right = np.r_[np.arange(n), np.arange(n, 3 * n)]
    diff = np.r_[rng.integers(0, 2, n), np.c_[rng.integers(0, 2, n), rng.integers(-4, 5, n)].ravel()]
    evidence = estimate(left, right, diff, 4)
    assert evidence is not None
    assert evidence.m_pairs == n and evidence.u_pairs == 2 * n
    bits = evidence.level_bits(np.arange(-4, 5))
    assert bits[4] > 0.5 and bits[5] > 0.5  # 0 and 1 day: more likely for pairs than for unrelated records
    assert bits[0] < -3 and bits[8] < -3
    penalty = evidence.penalty(np.arange(-4, 5))
    assert penalty.max() == 0.0
    assert penalty.min() >= -MAX_PENALTY_BITS * SCORE_PER_BIT
    assert penalty[0] < penalty[3] < min(penalty[4], penalty[5])
    assert max(penalty[4], penalty[5]) == 0.0


def test_estimate_needs_enough_candidates() -> None:
    left = np.array([0, 1, 1])
    right = np.array([0, 1, 2])
    assert estimate(left, right, np.array([0, 0, 3]), 4) is None


def test_closer_date_decides_a_near_tie_of_equal_texts() -> None:
    left, right = _data(lone=60, crowded=40, rival_offset=-3)
    result = reconcile(left, right, rules_for(NEAR))
    crowded = [g for g in groups_of(result) if g[3][0].startswith("B")]
    assert len(crowded) == 40
    # the true ledger line (the day before) wins, and decided: the rival's difference (4 days, before
    # the ledger line's usual lag) never occurs between pairs
    assert all(g[1] == "matched" and g[2][0].startswith("T") for g in crowded), crowded
    rows = result.matches.to_pylist()
    group = next(r["group_id"] for r in rows if r["id"] == "B000")
    row = next(r for r in rows if r["group_id"] == group and r["explanation"] is not None)
    explanation = json.loads(row["explanation"])
    assert explanation["date"]["diff"] == 1 and explanation["date"]["adjust"] <= 0.0
    assert row["score"] == 1.0  # the pass's score stays the text similarity


def test_without_date_evidence_the_tie_stays_suggested() -> None:
    left, right = _data(lone=60, crowded=40, rival_offset=-3)
    rules = rules_for(NEAR + "    date_evidence: false\n")
    result = reconcile(left, right, rules)
    crowded = [g for g in groups_of(result) if g[3][0].startswith("B")]
    assert crowded and all(g[1] == "suggested" for g in crowded)
    assert "date" not in json.loads(result.matches.column("explanation")[0].as_py())


def test_equally_likely_dates_never_end_matched() -> None:
    # the rival is on the bank line's day, the true one the day before: both differences are as common
    # between the lone pairs: still a near-tie, never matched
    left, right = _data(lone=60, crowded=40, rival_offset=1)
    result = reconcile(left, right, rules_for(NEAR))
    crowded = [g for g in groups_of(result) if g[3][0].startswith("B")]
    assert crowded and all(g[1] == "suggested" for g in crowded)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 12), st.integers(-2, 4)), min_size=70, max_size=120),
    st.randoms(use_true_random=False),
)
def test_date_evidence_keeps_exactly_once_determinism_and_the_margin(rows, rng) -> None:
    """Books big enough for date evidence (>= 30 lone and crowded candidates): every record once, the same
    result in another row order, and a pair whose explanation names a rival is never `matched`."""
    names = ["ACME", "GLOBEX", "INITECH", "UMBRELLA", "HOOLI", "STARK"]
    lefts, rights = [], []
    for k, (who, day, lag) in enumerate(rows):
        amount = f"{100 + (k if k % 3 else k % 7)}.00"  # some amounts repeat: crowded blocks
        lefts.append((f"L{k:03d}", amount, _day(day), names[who]))
        rights.append((f"R{k:03d}", amount, _day(day + lag), names[who]))
    left = side(*[list(c) for c in zip(*[(i, a, d) for i, a, d, _ in lefts], strict=True)],
                name=[n for *_, n in lefts])  # fmt: skip
    right = side(*[list(c) for c in zip(*[(i, a, d) for i, a, d, _ in rights], strict=True)],
                 name=[n for *_, n in rights])  # fmt: skip
    rules = rules_for(NEAR)
    result = reconcile(left, right, rules, threads=1)
    for name, table, unmatched in (
        ("left", left, result.unmatched_left),
        ("right", right, result.unmatched_right),
    ):
        listed = [r["id"] for r in result.matches.to_pylist() if r["side"] == name]
        listed += unmatched.column("id").to_pylist()
        assert sorted(listed) == sorted(table.column("id").to_pylist())
    for row in result.matches.to_pylist():
        if row["explanation"] is not None and "rival" in json.loads(row["explanation"]):
            assert row["status"] == "suggested"
    again = reconcile(left.take(_order(left.num_rows, rng)), right.take(_order(right.num_rows, rng)), rules)
    assert again.matches.equals(result.matches)
    assert again.summary == result.summary


def _order(n: int, rng) -> pa.Array:
    order = list(range(n))
    rng.shuffle(order)
    return pa.array(order, pa.int64())
