"""Twins in a crowded group_by group (recon.engine.twins): several payments of one payer's day share equal
amounts, which the sums cannot tell apart."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.engine import reconcile
from recon.engine.twins import Pick, exchange_twins

from .helpers import BATCHES, bank_lines, groups_of, rules_for, told_apart_day

RIVAL, OTHER = 0, 1  # rival codes of the grouped side and of the other (exchange_twins passes them on)


def test_a_crowded_day_with_several_payments_resolves_each_payment_exactly():
    """Three payments of A's day, each holding a 100.00 and two a 250.00: whichever subset holds which twin,
    every sum is made (the search's own order gave R1 the first 100.00 and the last). Each payment gets its
    own invoices (the twin beside its other invoices), and every group stays `suggested`: the sums alone
    had other answers."""
    left = told_apart_day(
        ["61.10", "100.00", "12.25", "100.00", "250.00", "37.50", "100.00", "250.00"], digits=2
    )
    right = bank_lines(["161.10", "362.25", "387.50"])
    result = reconcile(left, right, rules_for(BATCHES))
    assert sorted(groups_of(result)) == [
        ("batches", "suggested", ("L01", "L02"), ("R1",)),
        ("batches", "suggested", ("L03", "L04", "L05"), ("R2",)),
        ("batches", "suggested", ("L06", "L07", "L08"), ("R3",)),
    ]


def test_a_day_without_twins_stays_matched():
    left = told_apart_day(["100.00", "37.50", "250.00", "101.00", "12.25", "251.00"], digits=2)
    right = bank_lines(["387.50", "364.25"])
    result = reconcile(left, right, rules_for(BATCHES))
    assert sorted(groups_of(result)) == [
        ("batches", "matched", ("L01", "L02", "L03"), ("R1",)),
        ("batches", "matched", ("L04", "L05", "L06"), ("R2",)),
    ]


def test_exchange_twins_places_each_twin_beside_its_subset():
    """Records 0..4 of one group; 0 and 3 are twins (5). The first subset holds 1 and 3, the second 0, 2
    and 4: 0 sits beside 1, 3 between 2 and 4, so they change places."""
    amounts = np.array([5, 7, 9, 5, 11], np.int64)
    picks: list[Pick] = [(10, 0, (1, 3), None), (11, 1, (0, 2, 4), (OTHER, 42))]
    result = exchange_twins(
        picks,
        group_of=np.zeros(5, np.int64),
        values_of=lambda rids: amounts[rids],
        open_rids=np.zeros(0, np.int64),
        many_rival=RIVAL,
    )
    assert [p[2] for p in result] == [(0, 1), (2, 3, 4)]
    assert result[0][3] == (RIVAL, 3)  # was sure, gave a twin away: names it
    assert result[1][3] == (OTHER, 42)  # a rival of the other side: kept


@st.composite
def _days(draw):
    """A payer's day paid by 2..4 payments of 2..4 invoices each, amounts from a few round values (twins)
    and a few odd ones; invoices of a payment booked together."""
    payments = draw(st.integers(2, 4))
    amounts: list[str] = []
    totals: list[Decimal] = []
    for _ in range(payments):
        size = draw(st.integers(2, 4))
        part = draw(
            st.lists(
                st.one_of(st.sampled_from(["50.00", "100.00", "250.00"]), st.integers(101, 9999).map(
                    lambda c: f"{c // 100}.{c % 100:02d}")),
                min_size=size, max_size=size,
            )
        )  # fmt: skip
        amounts += part
        totals.append(sum((Decimal(a) for a in part), Decimal(0)))
    return amounts, [str(t) for t in totals]


@settings(max_examples=40, deadline=None)
@given(_days())
def test_no_group_with_a_twin_elsewhere_in_its_day_is_matched(day):
    """Every record lands at most once, every group makes its line's sum, and a group holding an amount
    that another group of the day (or an open invoice of it) holds too is never `matched`."""
    amounts, totals = day
    left = told_apart_day(amounts, digits=2)
    right = bank_lines(totals)
    rules = rules_for(BATCHES.replace("max_group_size: 3", "max_group_size: 4"))
    found = groups_of(reconcile(left, right, rules))
    amount_of = {f"L{k + 1:02d}": Decimal(a) for k, a in enumerate(amounts)}
    total_of = {f"R{k + 1}": Decimal(t) for k, t in enumerate(totals)}
    members = [m for _, _, lefts, _ in found for m in lefts]
    assert len(members) == len(set(members))
    slot = {m: k for k, (_, _, lefts, _) in enumerate(found) for m in lefts}
    for k, (_, status, lefts, rights) in enumerate(found):
        assert abs(sum(amount_of[m] for m in lefts) - total_of[rights[0]]) <= Decimal("0.01")
        if status == "matched":
            mine = {amount_of[m] for m in lefts}
            elsewhere = [m for m in amount_of if slot.get(m) != k and amount_of[m] in mine]
            assert not elsewhere, (found, elsewhere)


def test_among_equally_contended_subsets_the_closest_in_record_order_is_taken():
    """7.00 is 3 + 4 (L01, L05) or 5 + 2 (L04, L06): nothing else wants either; the pick is the pair whose
    records lie closer together, and it stays `suggested` (the other pair is its rival)."""
    left = told_apart_day(["3.00", "9.00", "1.00", "5.00", "4.00", "2.00"], digits=2)
    result = reconcile(left, bank_lines(["7.00"]), rules_for(BATCHES))
    assert groups_of(result) == [("batches", "suggested", ("L04", "L06"), ("R1",))]
