"""The joint solve of a crowded group_by group (groups._joint, subset.exact_covers)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from recon.engine import reconcile
from recon.engine.subset import exact_covers

from .helpers import BATCHES, bank_lines, groups_of, one_day, rules_for, told_apart_day


def test_the_split_using_every_member_beats_fewest_members_first():
    """One payer's day paid by two bank lines. Line by line, fewest members first, R1 (8.00) takes 3 + 5
    (its only pair), and R2 (33.00) could then only be made by four members (above max_group_size 3).
    Only one split of the day gives every member to a line: 1 + 2 + 5 and 3 + 10 + 20."""
    left = one_day(["1.00", "2.00", "5.00", "3.00", "10.00", "20.00"])
    right = bank_lines(["8.00", "33.00"])
    result = reconcile(left, right, rules_for(BATCHES))
    assert sorted(groups_of(result)) == [
        ("batches", "matched", ("L1", "L2", "L3"), ("R1",)),
        ("batches", "matched", ("L4", "L5", "L6"), ("R2",)),
    ]


def test_a_split_with_equal_amounts_in_two_shares_is_suggested():
    """5 + 7 and 5 + 9 split the day whichever 5.00 goes where: no data tells the twins apart, so both
    groups are suggested (each names a rival) and every record still lands once."""
    left = told_apart_day(["5.00", "7.00", "5.00", "9.00"])
    right = bank_lines(["12.00", "14.00"])
    result = reconcile(left, right, rules_for(BATCHES))
    found = groups_of(result)
    assert [status for _, status, _, _ in found] == ["suggested", "suggested"]
    shares = {rights: sorted(lefts) for _, _, lefts, rights in found}
    assert set(shares[("R1",)]) & {"L2"} and set(shares[("R2",)]) & {"L4"}
    assert sorted(shares[("R1",)] + shares[("R2",)]) == ["L1", "L2", "L3", "L4"]


def test_the_joint_solve_decides_the_same_on_every_run():
    left = told_apart_day(["1.00", "2.00", "5.00", "3.00", "10.00", "20.00", "4.00", "4.00"])
    right = bank_lines(["8.00", "33.00", "8.00"])
    runs = {tuple(groups_of(reconcile(left, right, rules_for(BATCHES)))) for _ in range(3)}
    assert len(runs) == 1


def _brute(values, lows, highs, max_size):
    """Every cover by brute force, as sets of (line, sorted amounts) (exchanges of equal amounts merged)."""
    found = set()
    lines = len(lows)
    for owner in itertools.product(range(lines), repeat=len(values)):
        shares = {j: [values[k] for k in range(len(values)) if owner[k] == j] for j in range(lines)}
        if all(
            not share or (2 <= len(share) <= max_size and lows[j] <= sum(share) <= highs[j])
            for j, share in shares.items()
        ):
            found.add(frozenset((j, tuple(sorted(s))) for j, s in shares.items() if s))
    return found


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(-5, 12), min_size=2, max_size=7),
    st.lists(st.tuples(st.integers(-10, 40), st.integers(0, 1)), min_size=1, max_size=3),
    st.integers(2, 4),
)
def test_exact_covers_match_brute_force(values, lines, max_size):
    lows = [target - tolerance for target, tolerance in lines]
    highs = [target + tolerance for target, tolerance in lines]
    covers = exact_covers(values, lows, highs, max_size, nodes=10**7, limit=10**6)
    assert covers is not None
    got = {frozenset((j, tuple(sorted(values[k] for k in s))) for j, s in c.items()) for c in covers}
    assert len(got) == len(covers)  # listed once each
    assert got == _brute(values, lows, highs, max_size)
    for cover in covers:  # every member exactly once
        assert sorted(k for share in cover.values() for k in share) == list(range(len(values)))


def test_exact_covers_give_up_beyond_their_budget():
    values = [100] * 30
    assert exact_covers(values, [200] * 15, [200] * 15, 3, nodes=50) is None


def _brute_partial(values, lows, highs, max_size):
    """Every partial split by brute force: each member in a line or left out, every line with a share."""
    found = set()
    lines = len(lows)
    for owner in itertools.product(range(lines + 1), repeat=len(values)):  # `lines`: left out
        shares = {j: [values[k] for k in range(len(values)) if owner[k] == j] for j in range(lines)}
        if all(
            2 <= len(share) <= max_size and lows[j] <= sum(share) <= highs[j] for j, share in shares.items()
        ):
            found.add(frozenset((j, tuple(sorted(s))) for j, s in shares.items()))
    return found


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(-5, 12), min_size=2, max_size=7),
    st.lists(st.tuples(st.integers(-10, 30), st.integers(0, 1)), min_size=1, max_size=3),
    st.integers(2, 4),
)
def test_partial_splits_match_brute_force(values, lines, max_size):
    lows = [target - tolerance for target, tolerance in lines]
    highs = [target + tolerance for target, tolerance in lines]
    covers = exact_covers(values, lows, highs, max_size, nodes=10**7, limit=10**6, partial=True)
    assert covers is not None
    got = {frozenset((j, tuple(sorted(values[k] for k in s))) for j, s in c.items()) for c in covers}
    assert len(got) == len(covers)
    assert got == _brute_partial(values, lows, highs, max_size)
    for cover in covers:  # every line has a share, no member twice
        assert sorted(cover) == list(range(len(lows)))
        placed = [k for share in cover.values() for k in share]
        assert len(placed) == len(set(placed))


def test_a_day_not_all_paid_is_split_among_its_payments():
    """A's day: two bank lines pay some of it, 4.00 and 50.00 are paid by neither. No split uses every
    member. Line by line, R1 (5.00) has two ways (1 + 4, 2 + 3) and so has R2 (7.00: 1 + 6, 3 + 4); giving
    both lines a share at once, members left out, only 2 + 3 and 1 + 6 fit: the partial split decides."""
    left = told_apart_day(["1.00", "2.00", "3.00", "4.00", "6.00", "50.00"])
    right = bank_lines(["5.00", "7.00"])
    result = reconcile(left, right, rules_for(BATCHES))
    assert sorted(groups_of(result)) == [
        ("batches", "matched", ("L1", "L5"), ("R2",)),
        ("batches", "matched", ("L2", "L3"), ("R1",)),
    ]
