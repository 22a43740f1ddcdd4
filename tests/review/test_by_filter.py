"""Tab counts, totals of a filter, and bulk actions on everything a filter selects (count guard, limit,
all or nothing) on the synthetic run (see factory.py for its layout)."""

from __future__ import annotations

from .conftest import Env


def _run(env: Env, tail: str) -> str:
    return f"/runs/{env.run.run_id}/{tail}"


def test_tab_counts(env: Env) -> None:
    counts = env.get("viewer", _run(env, "counts"))
    assert counts.status_code == 200, counts.text
    assert counts.json() == {
        "suggested": 2,
        "breaks": 1,
        "unmatched_left": 3,
        "unmatched_right": 2,
        "matched": 1,
        "pending_approval": 0,
        "reconciling": 0,
    }


def test_totals_of_a_filter_are_exact_and_filtered(env: Env) -> None:
    groups = env.get("viewer", _run(env, "groups/totals"), status="suggested").json()
    assert groups == {
        "groups": 2,
        "currencies": [
            {
                "currency": None,
                "groups": 2,
                "left_total": "140.00",
                "right_total": "140.00",
                "difference": "0.00",
            }
        ],
    }
    breaks = env.get("viewer", _run(env, "groups/totals"), status="break", difference_min="1").json()
    assert breaks["groups"] == 1 and breaks["currencies"][0]["difference"] == "5.00"
    left = env.get("viewer", _run(env, "unmatched/totals"), side="left").json()
    assert left == {"records": 3, "currencies": [{"currency": "EUR", "records": 3, "amount": "47.00"}]}
    some = env.get("viewer", _run(env, "unmatched/totals"), side="left", amount_max="10").json()
    assert some["records"] == 2 and some["currencies"][0]["amount"] == "17.00"
    none = env.get("viewer", _run(env, "unmatched/totals"), side="right", amount_min="1000").json()
    assert none == {"records": 0, "currencies": []}
    bad = env.get("viewer", _run(env, "groups/totals"), min_score="2")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.min_score"


def test_confirm_by_filter_needs_the_count_the_user_saw(env: Env) -> None:
    body = {"action": "confirm", "groups": {"status": ["suggested"], "min_score": 0.5}, "expected_count": 3}
    changed = env.act("preparer", "bulk/by-filter", body)
    assert changed.status_code == 409, changed.text
    assert changed.json()["type"].endswith("/selection-changed")
    assert "now selects 2 groups, not the 3" in changed.json()["detail"]
    assert env.decisions() == []

    done = env.act("preparer", "bulk/by-filter", {**body, "expected_count": 2})
    assert done.status_code == 200, done.text
    assert done.json() == {"touched": 2, "decisions": 2}
    assert {env.group("sug1").status, env.group("sug2").status} == {"pending_approval"}
    counts = env.get("viewer", _run(env, "counts")).json()
    assert counts["suggested"] == 0 and counts["pending_approval"] == 2
    env.check_invariants()


def test_writeoff_and_assign_of_unmatched_records_by_filter(env: Env) -> None:
    selection = {"side": "left", "amount_max": "10"}
    no_reason = env.act(
        "preparer",
        "bulk/by-filter",
        {"action": "writeoff", "unmatched": selection, "expected_count": 2, "comment": "small"},
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "body.reason_code"
    assignee = env.users["preparer2"].id
    assigned = env.act(
        "preparer",
        "bulk/by-filter",
        {"action": "assign", "unmatched": selection, "expected_count": 2, "assignee_id": assignee},
    )
    assert assigned.json() == {"touched": 2, "decisions": 0}
    assert env.item("ul2").assignee_id == assignee and env.item("ul1").assignee_id is None
    done = env.act(
        "preparer",
        "bulk/by-filter",
        {
            "action": "writeoff",
            "unmatched": {**selection, "assignee_id": assignee},
            "expected_count": 2,
            "comment": "below materiality",
            "reason_code": "bank_fee",
        },
    )
    assert done.status_code == 200, done.text
    assert done.json() == {"touched": 2, "decisions": 2}
    assert env.get("viewer", _run(env, "counts")).json()["unmatched_left"] == 1
    env.check_invariants()


def test_by_filter_refuses_mismatched_targets_and_viewers(env: Env) -> None:
    wrong = env.act(
        "preparer",
        "bulk/by-filter",
        {"action": "confirm", "unmatched": {"side": "left"}, "expected_count": 3},
    )
    assert wrong.status_code == 422
    both = env.act(
        "preparer",
        "bulk/by-filter",
        {"action": "reject", "groups": {}, "unmatched": {"side": "left"}, "expected_count": 1},
    )
    assert both.status_code == 422
    viewer = env.act("viewer", "bulk/by-filter", {"action": "reject", "groups": {}, "expected_count": 1})
    assert viewer.status_code == 403
