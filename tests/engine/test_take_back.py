"""The take-back (waterfall.held_records, waterfall.take_back): a grouped pass may use a record an earlier
one_to_one pass holds in a `suggested` pair whose rival is still open; the rival takes its place."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from recon.engine import reconcile

from .helpers import BATCHES, details_of, groups_of, near_pass, reasons_of, rules_for, side

NEAR = near_pass("payer", days=2, item_options=", weight: 1", min_score=0.5)


def _records(rows):
    """Records of payer A from (id, amount, date) rows; both sides look alike."""
    ids, amounts, dates = zip(*rows, strict=True)
    return side(list(ids), list(amounts), list(dates), payer=["A"] * len(ids), text=list(ids))


_ledger = _bank = _records


# M and its twin R (same payer and amount, one day apart) both fit bank line B; M's day (with L2) is paid
# by the collective line C = M + L2. The near pass pairs B with M (`suggested`, rival R).
LEDGER = [("L1M", "40.00", "2024-01-02"), ("L2", "60.00", "2024-01-02"), ("L3R", "40.00", "2024-01-01")]
BANK = [("B", "40.00", "2024-01-01"), ("C", "100.00", "2024-01-02")]


def _exactly_once(result, left, right):
    seen = {"left": [], "right": []}
    for row in result.matches.to_pylist():
        seen[row["side"]].append(row["id"])
    seen["left"] += result.unmatched_left.column("id").to_pylist()
    seen["right"] += result.unmatched_right.column("id").to_pylist()
    assert sorted(seen["left"]) == sorted(left.column("id").to_pylist())
    assert sorted(seen["right"]) == sorted(right.column("id").to_pylist())
    assert result.summary["checks"] == {"exactly_once": True, "control_totals": True}


def test_near_alone_pairs_the_member_with_the_bank_line_as_suggested():
    left, right = _ledger(LEDGER), _bank(BANK)
    result = reconcile(left, right, rules_for(NEAR))
    assert groups_of(result) == [("near", "suggested", ("L1M",), ("B",))]
    explanation = json.loads(result.matches.column("explanation").to_pylist()[0])
    assert explanation["rival"]["id"] == "L3R"


def test_a_matched_group_takes_the_member_back_and_the_open_rival_takes_its_place():
    left, right = _ledger(LEDGER), _bank(BANK)
    result = reconcile(left, right, rules_for(NEAR + BATCHES))
    assert groups_of(result) == [
        ("near", "suggested", ("L3R",), ("B",)),
        ("batches", "matched", ("L1M", "L2"), ("C",)),
    ]
    rows = result.matches.to_pylist()
    pair = json.loads(next(row["explanation"] for row in rows if row["pass"] == "near"))
    assert pair["re_paired"]["first_id"] == "L1M"
    assert pair["re_paired"]["taken_by"] == "batches"
    assert pair["rival"]["id"] == "L3R"
    # the pair's score is now the rival's (the score near gave L3R with B)
    assert next(row["score"] for row in rows if row["pass"] == "near") == pair["rival"]["score"]
    _exactly_once(result, left, right)


def test_no_take_back_when_the_rival_is_not_open():
    """A second bank line B2 takes the twin R in the near pass: M stays in its pair and C is not paid."""
    left = _ledger(LEDGER)
    right = _bank([*BANK, ("B2", "40.00", "2024-01-01")])
    result = reconcile(left, right, rules_for(NEAR + BATCHES))
    found = groups_of(result)
    assert [g for g in found if g[0] == "batches"] == []
    near = sorted((lefts, rights) for _, _, lefts, rights in found)
    assert near == [(("L1M",), ("B",)), (("L3R",), ("B2",))] or near == [
        (("L1M",), ("B2",)),
        (("L3R",), ("B",)),
    ]
    assert "C" in reasons_of(result.unmatched_right)
    assert all("re_paired" not in (row["explanation"] or "") for row in result.matches.to_pylist())
    _exactly_once(result, left, right)


def test_a_suggested_group_does_not_take_back():
    """M + L2 and M + L5 both make C: the group would be `suggested`, so it is dropped and M stays in its
    pair; C and the members are unmatched as ambiguous."""
    left = _ledger([*LEDGER, ("L5", "60.00", "2024-01-02")])
    right = _bank(BANK)
    result = reconcile(left, right, rules_for(NEAR + BATCHES))
    assert groups_of(result) == [("near", "suggested", ("L1M",), ("B",))]
    assert reasons_of(result.unmatched_right)["C"] == "ambiguous"
    assert reasons_of(result.unmatched_left)["L2"] == "ambiguous"
    # the detail says what happened and names the record the group needed
    detail = details_of(result.unmatched_right)["C"]
    assert detail == (
        "its group in pass 'batches' needed L1M, which pass 'near' holds in a suggested pair; the group was "
        "dropped: the group was not sure (competing groups make the same sum)"
    )
    assert details_of(result.unmatched_left)["L2"] == detail
    _exactly_once(result, left, right)


def test_after_a_dropped_group_the_pass_runs_again_without_the_held_record():
    """With M offered, C has two ways (M + L2, L6 + L7): `suggested`, dropped. The pass runs again over the
    records left open and finds L6 + L7 alone, `suggested` (that run did not see M), saying why."""
    left = _ledger([*LEDGER, ("L6", "30.00", "2024-01-02"), ("L7", "70.00", "2024-01-02")])
    right = _bank(BANK)
    result = reconcile(left, right, rules_for(NEAR + BATCHES))
    assert groups_of(result) == [
        ("near", "suggested", ("L1M",), ("B",)),
        ("batches", "suggested", ("L6", "L7"), ("C",)),
    ]
    texts = result.matches.column("explanation").to_pylist()
    assert "re_paired" not in texts[0]
    assert "again" in json.loads(texts[2])
    _exactly_once(result, left, right)


def test_a_matched_pair_is_never_taken_back():
    """Without a twin, near matches M with B outright: the group cannot have M."""
    left = _ledger(LEDGER[:2])
    right = _bank(BANK)
    result = reconcile(left, right, rules_for(NEAR + BATCHES))
    assert groups_of(result) == [("near", "matched", ("L1M",), ("B",))]
    _exactly_once(result, left, right)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["20.00", "40.00", "60.00"]), st.integers(0, 3)), min_size=2, max_size=9
    ),
    st.lists(
        st.tuples(st.sampled_from(["40.00", "60.00", "100.00"]), st.integers(0, 3)), min_size=1, max_size=5
    ),
)
def test_take_backs_keep_every_record_once_and_are_deterministic(ledger, bank):
    """Twins over a few days: every record lands once, runs agree, and every re-paired pair holds the rival
    its explanation names while its first record sits in a matched group of the later pass."""
    left = _ledger([(f"L{k}", a, f"2024-01-0{d + 1}") for k, (a, d) in enumerate(ledger)])
    right = _bank([(f"R{k}", a, f"2024-01-0{d + 1}") for k, (a, d) in enumerate(bank)])
    rules = rules_for(NEAR + BATCHES)
    result = reconcile(left, right, rules)
    _exactly_once(result, left, right)
    assert groups_of(reconcile(left, right, rules)) == groups_of(result)
    found = groups_of(result)
    in_matched_group = {
        i for p, status, lefts, _ in found if p == "batches" and status == "matched" for i in lefts
    }
    for row in result.matches.to_pylist():
        if row["explanation"] and "re_paired" in row["explanation"]:
            explanation = json.loads(row["explanation"])
            assert row["pass"] == "near" and row["status"] == "suggested"
            assert row["id"] == explanation["rival"]["id"]
            assert explanation["re_paired"]["first_id"] in in_matched_group
