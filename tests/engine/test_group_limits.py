"""Subsets inside group_by groups: only groups whose open records the search sees in full."""

from __future__ import annotations

from recon.engine import reconcile
from recon.engine.subset import MAX_CANDIDATES

from .helpers import groups_of, rules_for, side

BATCHES = """\
  - name: batches
    kind: many_to_one
    group_by: [payer, date]
    max_group_size: 3
    match:
      - {left: date, right: date, op: within_days, days: 2}
    sum: {left: amount, right: amount, abs: 0.01}
"""


def _book(members: int) -> tuple[object, object]:
    """One payer's day of `members` open ledger lines (1.01, 2.02, ...); one bank line pays 1.01 + 2.02."""
    ids = [f"L{k:03d}" for k in range(members)]
    amounts = [f"{(k + 1) * 1.01:.2f}" for k in range(members)]
    left = side(ids, amounts, ["2024-01-01"] * members, payer=["A"] * members)
    right = side(["R1"], ["3.03"], ["2024-01-01"])
    return left, right


def test_a_group_the_search_sees_in_full_gets_its_subset() -> None:
    left, right = _book(MAX_CANDIDATES)
    found = groups_of(reconcile(left, right, rules_for(BATCHES)))
    assert found == [("batches", "suggested", ("L000", "L001"), ("R1",))]  # leaves records over: unsure


def test_a_group_beyond_the_search_is_left_alone() -> None:
    # one more open record than the search looks at: a subset among some of them could not be known to be
    # the only one, so none is offered
    left, right = _book(MAX_CANDIDATES + 1)
    result = reconcile(left, right, rules_for(BATCHES))
    assert groups_of(result) == []
    assert result.summary["right"]["unmatched"] == 1
