"""Subsets inside group_by groups: the whole group is searched (up to MAX_GROUP_OPEN open records), every
subset of the fewest members that makes the sum is counted."""

from __future__ import annotations

import json

from recon.engine import reconcile
from recon.engine.groups import MAX_GROUP_OPEN
from recon.engine.subset import MAX_CANDIDATES

from .helpers import BATCHES, bank_lines, details_of, groups_of, one_day, reasons_of, rules_for, side


def _book(members: int, pays: str = "3.03") -> tuple[object, object]:
    """One payer's day of `members` open ledger lines (1.01, 2.02, ...); one bank line pays `pays`."""
    amounts = [f"{(k + 1) * 1.01:.2f}" for k in range(members)]
    return one_day(amounts, ids=[f"L{k:03d}" for k in range(members)]), bank_lines([pays])


def test_the_only_subset_of_a_group_is_matched() -> None:
    # 3.03 = 1.01 + 2.02 and no other pair (3.03 itself is one record, not a group)
    left, right = _book(12)
    found = groups_of(reconcile(left, right, rules_for(BATCHES)))
    assert found == [("batches", "matched", ("L000", "L001"), ("R1",))]


def test_a_group_larger_than_the_per_record_search_is_searched_whole() -> None:
    # more open records than the per-record search (MAX_CANDIDATES) looks at; the payment's members are
    # the first and the last record of the day
    left = one_day(
        [f"{(k + 1) * 1.01:.2f}" for k in range(MAX_CANDIDATES + 15)] + ["100.00"],
        ids=[f"L{k:03d}" for k in range(MAX_CANDIDATES + 16)],
    )
    right = bank_lines(["101.01"])
    found = groups_of(reconcile(left, right, rules_for(BATCHES)))
    assert found == [("batches", "matched", ("L000", f"L{MAX_CANDIDATES + 15:03d}"), ("R1",))]


def test_a_sum_made_many_ways_is_not_guessed() -> None:
    # 41.41 = 1.01 * 41: 20 pairs (k, 41 - k) make it: no pick, the bank line is unmatched as ambiguous
    left, right = _book(MAX_CANDIDATES + 16, pays=f"{1.01 + 40 * 1.01:.2f}")
    result = reconcile(left, right, rules_for(BATCHES))
    assert groups_of(result) == []
    assert reasons_of(result.unmatched_right)["R1"] == "ambiguous"
    detail = details_of(result.unmatched_right)["R1"]
    assert detail.startswith("20 subsets of its group_by groups make its sum in pass 'batches'")
    assert "(one of them holds L000), more than 16: none was taken" in detail


def test_a_suggested_subset_names_its_rival() -> None:
    # 1.01 + 4.04 and 2.02 + 3.03: equally contended, the pair closer in record order is taken (ADR 0037)
    left, right = _book(MAX_CANDIDATES + 16, pays="5.05")
    result = reconcile(left, right, rules_for(BATCHES))
    assert groups_of(result) == [("batches", "suggested", ("L001", "L002"), ("R1",))]
    explanation = json.loads(result.matches.column("explanation")[0].as_py())
    assert explanation["rival"]["side"] == "left"


def test_a_record_sure_of_its_subset_leaves_the_rest_of_the_day_to_the_others() -> None:
    # 7.00 is 3 + 4 or 5 + 2; 10.00 only 4 + 6: once R1 holds 4 and 6, R2 has one way left (5 + 2)
    left = one_day(["3.00", "4.00", "5.00", "2.00", "6.00"])
    right = bank_lines(["10.00", "7.00"])
    found = groups_of(reconcile(left, right, rules_for(BATCHES)))
    assert sorted(found) == [
        ("batches", "matched", ("L2", "L5"), ("R1",)),
        ("batches", "matched", ("L3", "L4"), ("R2",)),
    ]


def test_two_records_claiming_one_member_are_not_decided_by_elimination() -> None:
    # R1 and R2 (both 10.00) each have one way, 4 + 6, and want the same records: one is suggested
    left = one_day(["3.00", "4.00", "6.00", "1.00"])
    right = side(["R1", "R2"], ["10.00", "10.00"], ["2024-01-01", "2024-01-02"])
    found = groups_of(reconcile(left, right, rules_for(BATCHES)))
    assert [(status, members) for _, status, members, _ in found] == [("suggested", ("L2", "L3"))]


def test_a_group_beyond_the_search_is_left_alone() -> None:
    left, right = _book(MAX_GROUP_OPEN + 1)
    result = reconcile(left, right, rules_for(BATCHES))
    assert groups_of(result) == []
    assert result.summary["right"]["unmatched"] == 1


def _two_day_book(payers: int, with_second_day: bool) -> tuple[object, object]:
    """Per payer: a day of 4 open ledger lines, a pair of which (1.00 + the rest) pays a bank line dated
    the next day; with_second_day: the same sum can also be made 3 days later (2 days after the bank line,
    inside the window: a bank line dated before the invoices it would pay)."""
    ids, amounts, dates, payer, bank = [], [], [], [], []
    for k in range(payers):
        total = 100 + k if not with_second_day else 300 + k
        days = ["2024-01-10", "2024-01-13"] if with_second_day else ["2024-01-10"]
        for d, day in enumerate(days):
            for m, amount in enumerate((1 + d, total - 1 - d, 1000 + d, 2000 + d)):
                ids.append(f"{'M' if with_second_day else 'S'}{k:02d}{d}{m}")
                amounts.append(f"{amount:.2f}")
                dates.append(day)
                payer.append(f"P{k}{'M' if with_second_day else 'S'}")
        bank.append((f"R{'M' if with_second_day else 'S'}{k:02d}", f"{total:.2f}"))
    left = side(ids, amounts, dates, payer=payer)
    right = side([b[0] for b in bank], [b[1] for b in bank], ["2024-01-11"] * len(bank))
    return left, right


def test_date_evidence_drops_a_group_dated_where_payments_never_are() -> None:
    # 40 bank lines make their sum in one group only, the next day's lag (+1); 40 others also 2 days before
    # a group (lag -2, never seen among the first): learned from the data, the -2 group is dropped and
    # the +1 group is the only way left
    import pyarrow as pa

    sure_left, sure_right = _two_day_book(40, with_second_day=False)
    both_left, both_right = _two_day_book(40, with_second_day=True)
    left, right = pa.concat_tables([sure_left, both_left]), pa.concat_tables([sure_right, both_right])
    found = groups_of(reconcile(left, right, rules_for(BATCHES)))
    by_bank = {group[3][0]: group for group in found}
    assert len(by_bank) == 80
    assert all(status == "matched" for _, status, _, _ in found)
    assert by_bank["RM07"][2] == ("M0700", "M0701")
    off = reconcile(
        left,
        right,
        rules_for(BATCHES.replace("max_group_size: 3", "max_group_size: 3\n    date_evidence: false")),
    )
    statuses = {group[3][0]: group[1] for group in groups_of(off)}
    assert statuses["RM07"] == "suggested" and statuses["RS07"] == "matched"
