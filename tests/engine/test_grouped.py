"""Grouped kinds: many_to_one, one_to_many, many_to_many; with and without group_by."""

from __future__ import annotations

import itertools
import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.engine import reconcile
from recon.engine.subset import alternative_direct, best_subset, best_subsets, mask_members, sum_bounds

from .helpers import BATCHES, bank_lines, details_of, groups_of, one_day, reasons_of, rules_for, side


def test_many_to_one_with_group_by():
    left = side(
        ["L1", "L2", "L3", "L4", "L5", "L6", "L7", "L8"],
        ["10.00", "20.00", "5.00", "1.00", "1.00", "1.00", "1.00", "7.00"],
        [
            "2024-01-01",
            "2024-01-01",
            "2024-01-02",
            "2024-01-03",
            "2024-01-03",
            "2024-01-03",
            "2024-01-03",
            "2024-01-05",
        ],
        payer=["A", "A", "B", "C", "C", "C", "C", None],
    )
    right = side(["R1", "R2", "R3", "R4"], ["30.01", "5.00", "4.00", "7.00"], ["2024-01-02"] * 4)
    result = reconcile(left, right, rules_for(BATCHES))
    # A: 10 + 20 = 30.00 ~ 30.01; B is a group of one (5.00); C has 4 members > max_group_size 3;
    # L8 has no payer, so it is not grouped
    assert groups_of(result) == [
        ("batches", "matched", ("L1", "L2"), ("R1",)),
        ("batches", "matched", ("L3",), ("R2",)),
    ]
    explanation = json.loads(result.matches.column("explanation")[0].as_py())
    assert explanation == {
        "members": {"left": 2, "right": 1},
        "sum": {"left": "30.00", "right": "30.01", "diff": "-0.01", "ok": True},
        "match": [{"field": "date", "left": "2024-01-01", "right": "2024-01-02"}],
    }
    assert set(reasons_of(result.unmatched_left)) == {"L4", "L5", "L6", "L7", "L8"}
    assert result.summary["passes"][0] == {
        "name": "batches",
        "kind": "many_to_one",
        "groups": 2,
        "left": 3,
        "right": 2,
        "matched": 2,
        "suggested": 0,
        "break": 0,
    }


def test_group_condition_on_other_columns_must_hold_for_every_member():
    rules = rules_for(BATCHES.replace("group_by: [payer, date]", "group_by: [payer]"))
    left = side(
        ["L1", "L2", "L3", "L4"],
        ["10.00", "20.00", "1.00", "2.00"],
        ["2024-01-01", "2024-01-08", "2024-01-01", "2024-01-02"],
        payer=["A", "A", "B", "B"],
    )
    right = side(["R1", "R2"], ["30.00", "3.00"], ["2024-01-02", "2024-01-02"])
    result = reconcile(left, right, rules)
    # A's second member is 6 days from R1 (window 2 days): no match; B's members both fit
    assert groups_of(result) == [("batches", "matched", ("L3", "L4"), ("R2",))]
    explanation = json.loads(result.matches.column("explanation")[0].as_py())
    assert explanation["match"] == [
        {"field": "date", "left": "2024-01-01..2024-01-02", "right": "2024-01-02"}
    ]


def _two_payers():
    """A's day (L1-L4: 10 + 20 pays R1, 5 + 7 pays R2) and B's, two days later (L5-L9, more than the
    max_group_size of 3: never offered whole; 8 + 9 pays R3); R2's 12.00 is also made inside B."""
    left = side(
        [f"L{k}" for k in range(1, 10)],
        ["10.00", "20.00", "5.00", "7.00", "3.00", "4.00", "6.00", "8.00", "9.00"],
        ["2024-01-01"] * 4 + ["2024-01-03"] * 5,
        payer=["A"] * 4 + ["B"] * 5,
    )
    days = ["2024-01-01"] * 2 + ["2024-01-03"] * 2
    right = side(["R1", "R2", "R3", "R9"], ["30.00", "12.00", "17.00", "12.00"], days)
    return left, right


def test_groups_that_match_nothing_whole_are_searched_for_subsets():
    """Two collective payments of one payer on one day share a group_by key (its sum pays neither), and a
    group above max_group_size is not offered whole: both get a subset search inside the group."""
    left, right = _two_payers()
    result = reconcile(left, right, rules_for(BATCHES))
    found = groups_of(result)
    assert ("batches", "matched", ("L1", "L2"), ("R1",)) in found
    # R2 (12.00) is 5 + 7 in A, but also 3 + 9 and 4 + 8 in B (2 days later, inside the window): unsure
    assert ("batches", "suggested", ("L3", "L4"), ("R2",)) in found
    # B (5 members > 3): 8 + 9 = 17 pays R3; R3 would also be 10 + 7 in A, but 10 (L1) is R1's, the only
    # way to make R1's sum: by elimination R3 has one way left
    members = {group[2]: group for group in found}
    assert members[("L8", "L9")][3] == ("R3",)
    assert members[("L8", "L9")][1] == "matched"
    # ... and a subset never mixes two groups: L5 (B, 2024-01-03) never joins A's records
    for _, _, lefts, _ in found:
        assert len({"A" if name in ("L1", "L2", "L3", "L4") else "B" for name in lefts}) == 1


def test_groups_searched_inside_with_no_candidate_at_all_stay_unmatched():
    """A group above max_group_size is searched inside, but no bank line is within its date window: no
    candidate edge at all (the search once failed on the empty edge list)."""
    left = one_day(["1.00", "2.00", "3.00", "4.00", "5.00"])
    right = bank_lines(["3.00"], day="2024-03-01")
    result = reconcile(left, right, rules_for(BATCHES))
    assert groups_of(result) == []
    assert set(reasons_of(result.unmatched_left).values()) == {"no_candidate"}
    assert reasons_of(result.unmatched_right) == {"R1": "no_candidate"}


def test_a_group_with_two_subsets_for_one_record_is_suggested():
    left = one_day(["5.00", "7.00", "4.00", "8.00"])
    right = bank_lines(["12.00"])
    result = reconcile(left, right, rules_for(BATCHES))
    # the group (24.00) pays nothing whole; inside it 5 + 7 and 4 + 8 both make 12.00: unsure
    [(_, status, lefts, rights)] = groups_of(result)
    assert status == "suggested" and rights == ("R1",) and len(lefts) == 2


def _payer_subsets(*, max_group_size: int, tolerance: str):
    """many_to_one without group_by: the bounded subset search over a payer's ledger lines."""
    return rules_for(
        f"""\
  - name: batches
    kind: many_to_one
    max_group_size: {max_group_size}
    match:
      - {{left: payer, right: payer, op: equals}}
    sum: {{left: amount, right: amount, abs: {tolerance}}}
"""
    )


def test_many_to_one_subset_search_without_group_by():
    rules = _payer_subsets(max_group_size=3, tolerance="0")
    left = side(["L1", "L2", "L3", "L4", "L5"], ["4.00", "6.00", "3.00", "7.00", "100.00"], payer=["A"] * 5)
    right = side(["R1", "R2"], ["10.00", "10.00"], payer=["A", "A"], memo=["first", "second"])
    result = reconcile(left, right, rules)
    # R1 (first by id) takes the lowest-id pair summing to 10: {L1, L2}; R2 then {L3, L4}; either bank line
    # could have taken either pair, so both are suggested
    assert groups_of(result) == [
        ("batches", "suggested", ("L1", "L2"), ("R1",)),
        ("batches", "suggested", ("L3", "L4"), ("R2",)),
    ]
    assert reasons_of(result.unmatched_left) == {"L5": "no_candidate"}


def test_subset_search_prefers_fewer_members_then_smaller_difference():
    rules = _payer_subsets(max_group_size=4, tolerance="0.05")
    left = side(["L1", "L2", "L3", "L4", "L5"], ["2.00", "3.00", "5.00", "6.98", "3.00"], payer=["A"] * 5)
    right = side(["R1"], ["10.00"], payer=["A"])
    result = reconcile(left, right, rules)
    # three-member {L1, L2, L3} sums exactly, but two members {L2, L4} = 9.98 are preferred (fewer)
    assert groups_of(result) == [("batches", "matched", ("L2", "L4"), ("R1",))]


def test_one_to_many_groups_the_right_side():
    rules = rules_for(
        """\
  - name: split
    kind: one_to_many
    group_by: [ref]
    match:
      - {left: ref, right: ref, op: equals}
    sum: {left: amount, right: amount, pct: 1}
"""
    )
    left = side(["L1", "L2"], ["100.00", "50.00"], ref=["X", "Y"])
    right = side(["R1", "R2", "R3", "R4"], ["60.00", "39.50", "25.00", "20.00"], ref=["X", "X", "Y", "Y"])
    result = reconcile(left, right, rules)
    # X: 99.50 is within 1% of 100; Y: 45 is 10% off 50
    assert groups_of(result) == [("split", "matched", ("L1",), ("R1", "R2"))]
    assert reasons_of(result.unmatched_right) == {"R3": "no_candidate", "R4": "no_candidate"}


def test_many_to_many_with_group_by_and_compare_break():
    rules = rules_for(
        """\
  - name: intercompany
    kind: many_to_many
    group_by: [ref]
    match:
      - {left: ref, right: ref, op: equals}
    sum: {left: amount, right: amount, abs: 0.01}
    compare:
      - {left: currency, right: currency}
"""
    )
    left = side(
        ["L1", "L2", "L3"], ["10.00", "5.00", "8.00"], ref=["P", "P", "Q"], currency=["EUR", "EUR", "USD"]
    )
    right = side(
        ["R1", "R2", "R3"], ["7.00", "8.00", "8.00"], ref=["P", "P", "Q"], currency=["EUR", "EUR", "EUR"]
    )
    result = reconcile(left, right, rules)
    assert groups_of(result) == [
        ("intercompany", "matched", ("L1", "L2"), ("R1", "R2")),
        ("intercompany", "break", ("L3",), ("R3",)),
    ]
    explanation = json.loads(result.matches.to_pylist()[-2]["explanation"])
    assert explanation["compare"] == [{"field": "currency", "left": "USD", "right": "EUR", "ok": False}]


def test_many_to_many_components_without_group_by():
    rules = rules_for(
        """\
  - name: chains
    kind: many_to_many
    max_group_size: 2
    match:
      - {left: ref, right: ref, op: equals}
    sum: {left: amount, right: amount, abs: 0}
"""
    )
    left = side(
        ["L1", "L2", "L3", "L4", "L5", "L6"],
        ["1.00", "2.00", "4.00", "1.00", "1.00", "1.00"],
        ref=["a", "a", "b", "c", "c", "c"],
    )
    right = side(["R1", "R2", "R3", "R4"], ["3.00", "5.00", "2.00", "1.00"], ref=["a", "b", "c", "c"])
    result = reconcile(left, right, rules)
    # a: 1 + 2 = 3 (2 x 1); b: 4 vs 5 differs; c: three left records exceed max_group_size 2
    assert groups_of(result) == [("chains", "matched", ("L1", "L2"), ("R1",))]


def brute_subset(values, low, high, target, max_size):
    for size in range(2, max_size + 1):
        found = [
            c
            for c in itertools.combinations(range(len(values)), size)
            if low <= sum(values[i] for i in c) <= high
        ]
        if found:
            return min(found, key=lambda c: (abs(sum(values[i] for i in c) - target), c))
    return None


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(-500, 500), min_size=0, max_size=20),
    st.integers(-1000, 1000),
    st.integers(0, 30),
    st.integers(2, 6),
)
def test_best_subset_matches_brute_force(values, target, tolerance, max_size):
    array = np.array(values, np.int64)
    low, high = sum_bounds(target, tolerance, None)
    got = best_subset(array, target, (low, high), max_size)
    expected = brute_subset(values, low, high, target, max_size) if len(values) <= 16 else None
    if got is not None:
        total = sum(values[i] for i in got)
        assert 2 <= len(got) <= max_size and low <= total <= high
    if len(values) <= 16:
        assert got == expected


def test_percent_bounds_are_exact():
    from decimal import Decimal

    assert sum_bounds(1000, None, Decimal(1)) == (990, 1010)  # 1000 / 0.99 = 1010.1
    assert sum_bounds(-1000, None, Decimal(1)) == (-1010, -990)
    assert sum_bounds(0, None, Decimal(5)) == (0, 0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.integers(-50, 50), min_size=5, max_size=5), min_size=1, max_size=6),
    st.integers(-60, 60),
    st.integers(0, 3),
    st.integers(2, 5),
)
def test_batch_subset_search_agrees_with_the_single_search(rows, target, tolerance, max_size):
    values = np.array(rows, np.int64)
    n = len(rows)
    targets = np.full(n, target, np.int64)
    best, _ = best_subsets(values, targets, targets - tolerance, targets + tolerance, max_size)
    for row, mask in zip(values, best.tolist(), strict=True):
        single = best_subset(row, target, (target - tolerance, target + tolerance), max_size)
        assert (mask_members(mask) if mask >= 0 else None) == single


def test_alternative_subset_in_one_enumeration_matches_the_per_member_search():
    """subset.alternative_direct == best_subset over the values without each picked member in turn."""

    def per_member(values, target, window, picked):
        for member in picked:
            keep = np.array([k for k in range(len(values)) if k != member], np.int64)
            other = best_subset(values[keep], target, window, len(picked))
            if other is not None and len(other) == len(picked):
                return tuple(int(keep[k]) for k in other)
        return None

    rng = np.random.default_rng(11)
    rivals = 0
    for _ in range(400):
        n = int(rng.integers(2, 12))
        values = rng.integers(1, 12, n).astype(np.int64) * int(rng.choice([1, 5, 100]))
        target = int(values[rng.choice(n, size=min(n, int(rng.integers(2, 5))), replace=False)].sum())
        window = sum_bounds(target, int(rng.integers(0, 3)), None)
        picked = best_subset(values, target, window, int(rng.integers(2, 6)))
        if picked is None:
            continue
        expected = per_member(values, target, window, picked)
        assert alternative_direct(values, target, window, picked) == expected
        rivals += expected is not None
    assert rivals > 50  # the cases exercise both outcomes


def test_a_unique_subset_in_a_big_group_is_matched_and_an_ambiguous_one_suggested():
    """A group_by group of 40 open records (more than the 24 the per-record search looks at): the subset
    search sees the whole group. 1234.56 is made only by 1000.01 + 234.55 (both far apart in the file):
    matched. 300.00 is made by 100.00 + 200.00 and by 120.00 + 180.00: suggested, naming a rival."""
    amounts = [f"{10 + 7 * k}.{(13 * k) % 100:02d}" for k in range(36)]
    amounts[3], amounts[31] = "1000.01", "234.55"
    amounts += ["100.00", "120.00", "200.00", "180.00"]
    left = one_day(amounts, ids=[f"L{k:02d}" for k in range(len(amounts))])
    right = bank_lines(["1234.56", "300.00"])
    rules = rules_for(BATCHES.replace("max_group_size: 3", "max_group_size: 4"))
    found = groups_of(reconcile(left, right, rules))
    assert ("batches", "matched", ("L03", "L31"), ("R1",)) in found
    r2 = [group for group in found if group[3] == ("R2",)]
    assert len(r2) == 1
    assert r2[0][1] == "suggested"
    assert r2[0][2] == ("L36", "L38")


def test_in_group_search_gathered_group_by_group_decides_the_same(monkeypatch):
    """The candidates of the search inside groups are gathered a chunk of groups at a time: one group per
    chunk gives the groups of one chunk for all (elimination across groups included)."""
    from recon.engine import groups

    left, right = _two_payers()
    whole = groups_of(reconcile(left, right, rules_for(BATCHES)))
    monkeypatch.setattr(groups, "GROUPS_PER_CHUNK", 1)
    assert groups_of(reconcile(left, right, rules_for(BATCHES))) == whole
    assert ("batches", "matched", ("L8", "L9"), ("R3",)) in whole


def test_a_group_losing_a_tie_for_a_record_names_the_contested_record():
    """Two payers' days both sum to the bank line's 30.00: one group gets it (suggested), the other's members
    are unmatched as ambiguous, their detail naming the bank line they competed for."""
    left = side(
        ["L1", "L2", "L3", "L4"],
        ["10.00", "20.00", "12.00", "18.00"],
        ["2024-01-01"] * 4,
        payer=["A", "A", "B", "B"],
    )
    right = side(["R1"], ["30.00"], ["2024-01-01"])
    result = reconcile(left, right, rules_for(BATCHES))
    [(_, status, lefts, _)] = groups_of(result)
    assert status == "suggested"
    losers = sorted({"L1", "L2", "L3", "L4"} - set(lefts))
    details = details_of(result.unmatched_left)
    for loser in losers:
        assert reasons_of(result.unmatched_left)[loser] == "ambiguous"
        assert details[loser] == (
            "competing records or groups for the same sum in pass 'batches': R1 went to another of them "
            "(a tie or near-tie within the margin)"
        )
