"""one_to_one semantics on small hand-built tables."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from recon.engine import InputError, RulesError, reconcile

from .helpers import groups_of, near_pass, reasons_of, rules_for, side

NEAR = near_pass("name", amount_abs="0.05", item_options=", normalize: [], tf: false")


def test_best_total_pairing_beats_greedy_first_candidate():
    rules = rules_for(
        """\
  - name: near
    kind: one_to_one
    match:
      - {left: amount, right: amount, op: tolerance, abs: 0.05}
      - {left: date, right: date, op: within_days, days: 3}
"""
    )
    # closeness = mean(amount 1.0, 1 - days/4): a-x 0.875 (the single best pair), a-y 0.75, b-x 0.625,
    # b-y impossible (6 days). Taking a-x first strands b (0.875); a-y + b-x totals 1.375.
    left = side(["a", "b"], ["10.00", "10.00"], ["2024-03-10", "2024-03-14"])
    right = side(["x", "y"], ["10.00", "10.00"], ["2024-03-11", "2024-03-08"])
    result = reconcile(left, right, rules)
    # the best total pairing, but neither pair is the best for both its records: a prefers x (margin rule)
    assert groups_of(result) == [
        ("near", "suggested", ("a",), ("y",)),
        ("near", "suggested", ("b",), ("x",)),
    ]
    scores = sorted(set(result.matches.column("score").to_pylist()))
    assert scores == [0.625, 0.75]
    first = json.loads(result.matches.column("explanation")[0].as_py())
    assert first["rival"] == {"side": "right", "id": "x", "score": 0.875}


def test_optimal_assignment_prefers_the_higher_total():
    rules = rules_for(NEAR)
    left = side(["L1", "L2"], ["10.00", "10.00"], name=["ACME CORP", "ACME"])
    right = side(["R1", "R2"], ["10.00", "10.00"], name=["ACME CORP", "ACNE CORP"])
    result = reconcile(left, right, rules)
    # jaro_winkler: L1-R1 1.0, L1-R2 0.941, L2-R1 0.889, L2-R2 0.694: 0.941 + 0.889 > 1.0 + 0.694;
    # L1 would rather have R1, so neither pair is decided alone
    assert groups_of(result) == [
        ("near", "suggested", ("L1",), ("R2",)),
        ("near", "suggested", ("L2",), ("R1",)),
    ]


def test_tie_gives_suggested_pair_and_ambiguous_loser():
    rules = rules_for(
        """\
  - name: exact
    kind: one_to_one
    match:
      - {left: ref, right: ref, op: equals}
"""
    )
    left = side(["L1"], ref=["A"])
    right = side(["R1", "R2"], ref=["A", "A"], other=["x", "y"])
    result = reconcile(left, right, rules)
    assert groups_of(result) == [("exact", "suggested", ("L1",), ("R1",))]
    assert reasons_of(result.unmatched_right) == {"R2": "ambiguous"}
    detail = result.unmatched_right.column("detail").to_pylist()
    assert detail == ["lost a tie or near-tie (within the margin) for its best candidate in pass 'exact'"]
    assert result.summary["right"]["suggested"] == 1


def test_below_min_score_and_no_candidate():
    rules = rules_for(NEAR + "    min_score: 0.9\n")
    left = side(["L1", "L2"], ["10.00", "99.00"], name=["ACME", "ZED"])
    right = side(["R1"], ["10.00"], name=["QQQQ"])
    result = reconcile(left, right, rules)
    assert result.matches.num_rows == 0
    assert reasons_of(result.unmatched_left) == {"L1": "below_min_score", "L2": "no_candidate"}
    detail = dict(zip(*[result.unmatched_left.column(c).to_pylist() for c in ("id", "detail")], strict=True))
    assert detail["L1"].startswith("best score 0.0000 < min_score 0.9 in pass 'near'")
    assert detail["L2"] is None


def test_duplicates_are_set_aside_unless_allowed():
    passes = """\
  - name: exact
    kind: one_to_one
    match:
      - {left: ref, right: ref, op: equals}
"""
    left = side(["L1"], ["5.00"], ref=["A"])
    right = side(["R2", "R1"], ["5.00", "5.00"], ref=["A", "A"])  # identical but for the id
    result = reconcile(left, right, rules_for(passes))
    assert groups_of(result) == [("exact", "matched", ("L1",), ("R1",))]
    unmatched = result.unmatched_right.to_pylist()
    assert [(r["id"], r["reason"], r["detail"]) for r in unmatched] == [
        ("R2", "duplicate", "duplicate of R1")
    ]
    assert result.summary["right"]["duplicate"] == 1
    allowed = reconcile(left, right, rules_for(passes, extra="duplicates: allow\n"))
    assert groups_of(allowed) == [("exact", "suggested", ("L1",), ("R1",))]
    assert reasons_of(allowed.unmatched_right) == {"R2": "ambiguous"}


def test_compare_makes_a_break_with_explanation():
    rules = rules_for(
        """\
  - name: refs
    kind: one_to_one
    match:
      - {left: ref, right: ref, op: equals, normalize: [trim, upper]}
    compare:
      - {left: amount, right: amount, abs: 0.01}
"""
    )
    left = side(["L1", "L2"], ["100.00", "20.00"], ref=["inv-1", "inv-2"])
    right = side(["R1", "R2"], ["87.50", "20.01"], ref=[" INV-1", "INV-2"])
    result = reconcile(left, right, rules)
    assert groups_of(result) == [("refs", "break", ("L1",), ("R1",)), ("refs", "matched", ("L2",), ("R2",))]
    explanation = json.loads(result.matches.column("explanation")[0].as_py())
    assert explanation == {
        "match": [{"field": "ref", "left": "inv-1", "right": " INV-1", "ok": True}],
        "compare": [{"field": "amount", "left": "100.00", "right": "87.50", "diff": "12.50", "ok": False}],
    }
    # one explanation per group, on its first row
    assert result.matches.column("explanation")[1].as_py() is None
    assert result.summary["left"]["amounts"]["break"] == "100.00"


def test_waterfall_offers_records_only_once_in_pass_order():
    rules = rules_for(
        """\
  - name: strict
    kind: one_to_one
    match:
      - {left: ref, right: ref, op: equals}
      - {left: amount, right: amount, op: equals}
  - name: loose
    kind: one_to_one
    match:
      - {left: amount, right: amount, op: tolerance, abs: 1}
"""
    )
    left = side(["L1", "L2"], ["10.00", "10.50"], ref=["A", "B"])
    right = side(["R1", "R2"], ["10.00", "10.40"], ref=["A", "C"])
    result = reconcile(left, right, rules)
    assert groups_of(result) == [
        ("strict", "matched", ("L1",), ("R1",)),
        ("loose", "matched", ("L2",), ("R2",)),
    ]
    assert [p["groups"] for p in result.summary["passes"]] == [1, 1]
    assert result.matches.column("group_id").to_pylist() == [1, 1, 2, 2]


def test_explanation_of_tolerance_dates_and_scores():
    rules = rules_for(
        """\
  - name: near
    kind: one_to_one
    match:
      - {left: amount, right: amount, op: tolerance, pct: 1}
      - {left: date, right: date, op: within_days, days: 3}
    score:
      - {left: name, right: name, method: token_set, weight: 2, normalize: [upper], tf: false}
      - {left: name, right: name, method: levenshtein, tf: false}
    suggest_below: 0.99
"""
    )
    left = side(["L1"], ["100.00"], ["2024-03-01"], name=['Acme "Tools"'])
    right = side(["R1"], ["99.50"], ["2024-03-03"], name=["TOOLS ACME"])
    result = reconcile(left, right, rules)
    (row,) = [r for r in result.matches.to_pylist() if r["side"] == "left"]
    explanation = json.loads(row["explanation"])
    assert explanation["match"][0] == {
        "field": "amount",
        "left": "100.00",
        "right": "99.50",
        "diff": "0.50",
        "ok": True,
    }
    assert explanation["match"][1] == {
        "field": "date",
        "left": "2024-03-01",
        "right": "2024-03-03",
        "days": 2,
        "ok": True,
    }
    token_set, levenshtein = explanation["score"]
    # the quotes survive JSON escaping; token '"TOOLS"' differs from 'TOOLS' (no normalizer drops them)
    assert token_set["left"] == 'Acme "Tools"' and token_set["weight"] == 2.0
    assert token_set["sim"] == pytest.approx(0.9091, abs=1e-4)
    assert levenshtein["method"] == "levenshtein" and 0 <= levenshtein["sim"] < 1
    assert row["score"] == pytest.approx((2 * token_set["sim"] + levenshtein["sim"]) / 3, abs=1e-4)
    assert row["status"] == "suggested"  # below suggest_below


def test_similarity_only_pass_blocks_on_tokens():
    rules = rules_for(
        """\
  - name: names
    kind: one_to_one
    match:
      - {left: name, right: name, op: similarity, method: token_set, min: 0.8, normalize: [lower]}
"""
    )
    left = side(["L1", "L2"], name=["Acme Trading GmbH", "Globex"])
    right = side(["R1", "R2"], name=["ACME TRADING", "Initech"])
    result = reconcile(left, right, rules)
    assert groups_of(result) == [("names", "matched", ("L1",), ("R1",))]
    assert reasons_of(result.unmatched_left) == {"L2": "no_candidate"}


def test_rejected_rows_are_unmatched_with_their_reason():
    rules = rules_for(NEAR)
    left = side(["L1"], ["10.00"], name=["A"])
    rejected = pa.table(
        {
            "id": ["L9"],
            "amount": pa.array([None], pa.decimal128(38, 2)),
            "name": ["B"],
            "_row": pa.array([7], pa.int64()),
            "_reason": ["amount: 'x1' is not a decimal"],
        }
    )
    result = reconcile(left, side(["R1"], ["10.00"], name=["A"]), rules, left_rejected=rejected)
    rows = result.unmatched_left.to_pylist()
    assert rows == [
        {
            "id": "L9",
            "amount": None,
            "name": "B",
            "reason": "rejected",
            "detail": "row 7: amount: 'x1' is not a decimal",
        }
    ]
    assert result.summary["left"]["rows"] == 2 and result.summary["left"]["rejected"] == 1


def test_bad_input_is_reported_clearly():
    rules = rules_for(NEAR)
    with pytest.raises(InputError, match="id 'L1' occurs more than once"):
        reconcile(
            side(["L1", "L1"], ["1.00", "2.00"], name=["a", "b"]), side(["R1"], ["1.00"], name=["a"]), rules
        )
    with pytest.raises(RulesError, match="unknown left column 'name'"):
        reconcile(side(["L1"], ["1.00"], nom=["a"]), side(["R1"], ["1.00"], name=["a"]), rules)
    untyped = pa.table({"id": ["L1"], "amount": ["1.00"], "name": ["a"]})
    with pytest.raises(InputError, match="left column 'amount' holds string, but it is used as decimal"):
        reconcile(untyped, side(["R1"], ["1.00"], name=["a"]), rules)


def test_ids_order_not_file_order_decides():
    rules = rules_for(
        """\
  - name: exact
    kind: one_to_one
    match:
      - {left: ref, right: ref, op: equals}
"""
    )
    left = side(["L2", "L1"], ref=["A", "A"], memo=["second", "first"])
    right = side(["R1"], ref=["A"])
    forward = reconcile(left, right, rules)
    backward = reconcile(left.take([1, 0]), right, rules)
    assert groups_of(forward) == groups_of(backward) == [("exact", "suggested", ("L1",), ("R1",))]
    assert forward.matches.equals(backward.matches)
