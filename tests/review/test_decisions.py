"""Maker actions and maker-checker: confirm, reject, manual match, unmatch, write-off, approve, reject."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import select

from recon.core.db import session_scope
from recon.models import AuditEvent

from .conftest import Env

MAKER_CHECKER = "https://recon.dev/problems/maker-checker"


def _audit_actions(env: Env) -> list[str]:
    with session_scope(env.session_factory) as session:
        stmt = (
            select(AuditEvent.action).where(AuditEvent.project_id == env.project.id).order_by(AuditEvent.seq)
        )
        return list(session.scalars(stmt))


def test_confirm_waits_for_approval_then_takes_effect(env: Env) -> None:
    response = env.act("preparer", "confirm", env.group_ref("sug1"))
    assert response.status_code == 201, response.text
    body = response.json()
    (decision,) = body["decisions"]
    assert decision["kind"] == "confirm"
    assert decision["status"] == "pending_approval"
    assert decision["maker_id"] == env.users["preparer"].id
    assert sorted(decision["item_ids"]) == sorted([env.run.items["s1l"], env.run.items["s1r"]])
    assert [g["status"] for g in body["groups"]] == ["pending_approval"]
    assert {i["state"] for i in body["items"]} == {"pending"}
    assert env.group("sug1").status == "pending_approval"

    approved = env.post("approver", f"/decisions/{decision['id']}/approve", {"comment": "ok"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["decisions"][0]["status"] == "approved"
    assert approved.json()["decisions"][0]["checker_id"] == env.users["approver"].id
    group = env.group("sug1")
    assert group.status == "matched"
    assert group.closed_at is not None
    assert env.item("s1l").state == "matched"
    assert env.item("s1r").state == "matched"
    assert _audit_actions(env)[-2:] == ["decision.created", "decision.approved"]


def test_the_maker_cannot_check_their_own_decision(env: Env) -> None:
    # An approver who makes a decision still needs another approver.
    decision = env.act("approver", "confirm", env.group_ref("sug1")).json()["decisions"][0]
    for verb in ("approve", "reject"):
        refused = env.post("approver", f"/decisions/{decision['id']}/{verb}", {"comment": "mine"})
        assert refused.status_code == 403, refused.text
        assert refused.json()["type"] == MAKER_CHECKER
    assert env.group("sug1").status == "pending_approval"
    assert env.post("approver2", f"/decisions/{decision['id']}/approve", {}).status_code == 200
    # a preparer may make decisions but not check them
    other = env.act("preparer", "confirm", env.group_ref("sug2")).json()["decisions"][0]
    assert env.post("preparer2", f"/decisions/{other['id']}/approve", {}).status_code == 403


def test_reject_suggestion_sends_members_back_to_unmatched(env: Env) -> None:
    decision = env.act("preparer", "reject", env.group_ref("sug1")).json()["decisions"][0]
    assert env.item("s1l").state == "pending"
    assert env.post("approver", f"/decisions/{decision['id']}/approve", {}).status_code == 200
    assert env.group("sug1").status == "rejected"
    for name in ("s1l", "s1r"):
        item = env.item(name)
        assert (item.state, item.reason, item.group_id) == ("unmatched", "rejected_suggestion", None)
        assert item.opened_at is not None  # it is an exception now: its age starts


def test_checker_rejection_restores_everything(env: Env) -> None:
    decision = env.act("preparer", "confirm", env.group_ref("sug1")).json()["decisions"][0]
    no_reason = env.post("approver", f"/decisions/{decision['id']}/reject", {})
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "body.comment"
    rejected = env.post("approver", f"/decisions/{decision['id']}/reject", {"comment": "score too low"})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["decisions"][0]["status"] == "rejected"
    assert rejected.json()["decisions"][0]["checker_comment"] == "score too low"
    assert env.group("sug1").status == "suggested"
    assert env.item("s1l").state == "suggested"
    again = env.post("approver2", f"/decisions/{decision['id']}/approve", {})
    assert again.status_code == 409  # no longer pending


def test_manual_match_with_a_difference_needs_a_writeoff(env: Env) -> None:
    items = [env.ref("ul2"), env.ref("ur2")]  # 10.00 vs 12.50
    no_comment = env.act("preparer", "manual-match", {"items": items})
    assert no_comment.status_code == 422
    assert no_comment.json()["errors"][0]["field"] == "body.comment"
    missing = env.act("preparer", "manual-match", {"items": items, "comment": "same payment"})
    assert missing.status_code == 422, missing.text
    assert missing.json()["errors"][0]["field"] == "body.writeoff_reason"
    assert "left total 10.00, right total 12.50, difference -2.50" in missing.json()["detail"]
    unknown = env.act(
        "preparer", "manual-match", {"items": items, "comment": "x", "writeoff_reason": "lunch"}
    )
    assert unknown.status_code == 422
    matched = env.act(
        "preparer", "manual-match", {"items": items, "comment": "same payment", "writeoff_reason": "bank_fee"}
    )
    assert matched.status_code == 201, matched.text
    (decision,) = matched.json()["decisions"]
    assert (decision["left_total"], decision["right_total"], decision["difference"]) == (
        "10.00",
        "12.50",
        "-2.50",
    )
    assert decision["reason_code"] == "bank_fee"
    (group,) = matched.json()["groups"]
    assert group["status"] == "pending_approval"
    assert (group["writeoff_amount"], group["writeoff_reason"]) == ("-2.50", "bank_fee")
    assert env.item("ul2").group_id == group["id"]
    assert env.post("approver", f"/decisions/{decision['id']}/approve", {}).status_code == 200
    assert env.group(group["id"]).status == "matched"
    assert {env.item("ul2").state, env.item("ur2").state} == {"matched"}
    assert env.group(group["id"]).kind == "manual"
    assert env.group(group["id"]).origin == "manual"


def test_manual_match_rules(env: Env) -> None:
    one_side = env.act(
        "preparer", "manual-match", {"items": [env.ref("ul1"), env.ref("ul2")], "comment": "x"}
    )
    assert one_side.status_code == 422
    assert "both sides" in one_side.text
    in_group = env.act(
        "preparer", "manual-match", {"items": [env.ref("s1l"), env.ref("ur1")], "comment": "x"}
    )
    assert in_group.status_code == 409
    assert in_group.json()["errors"] == [
        {"field": "body.items[0].id", "message": f"record {env.run.items['s1l']} is suggested, not unmatched"}
    ]
    stale = {**env.ref("ul1"), "version": 7}
    conflict = env.act("preparer", "manual-match", {"items": [stale, env.ref("ur1")], "comment": "x"})
    assert conflict.status_code == 409
    assert conflict.json()["type"] == "https://recon.dev/problems/version-conflict"
    assert conflict.json()["errors"][0]["field"] == "body.items[0].version"
    unknown = env.act(
        "preparer", "manual-match", {"items": [{"id": 999999, "version": 1}, env.ref("ur1")], "comment": "x"}
    )
    assert unknown.status_code == 422
    twice = env.act("preparer", "manual-match", {"items": [env.ref("ul1"), env.ref("ul1")], "comment": "x"})
    assert twice.status_code == 422
    # nothing moved
    assert env.item("ul1").state == "unmatched"
    assert env.decisions() == []


def test_a_record_is_never_in_two_pending_decisions(env: Env) -> None:
    first = env.act("preparer", "manual-match", {"items": [env.ref("ul1"), env.ref("ur1")], "comment": "a"})
    assert first.status_code == 201
    # the client still holds the versions it saw before: stale, and the record is no longer unmatched
    second = env.act(
        "preparer2", "writeoff", {"items": [env.ref("ul1")], "reason_code": "timing", "comment": "b"}
    )
    assert second.status_code == 409
    assert env.item("ul1").state == "pending"


def test_checker_rejects_a_manual_match_records_regain_their_reasons(env: Env) -> None:
    matched = env.act("preparer", "manual-match", {"items": [env.ref("ul1"), env.ref("ur1")], "comment": "a"})
    decision = matched.json()["decisions"][0]
    group_id = matched.json()["groups"][0]["id"]
    assert (
        env.post("approver", f"/decisions/{decision['id']}/reject", {"comment": "wrong"}).status_code == 200
    )
    assert env.group(group_id).status == "rejected"
    for name in ("ul1", "ur1"):
        item = env.item(name)
        assert (item.state, item.reason, item.group_id) == ("unmatched", "no_candidate", None)
    # and they can be matched again
    again = env.act("preparer", "manual-match", {"items": [env.ref("ul1"), env.ref("ur1")], "comment": "b"})
    assert again.status_code == 201, again.text


def test_unmatch_needs_a_comment_and_dissolves_the_group(env: Env) -> None:
    missing = env.act("preparer", "unmatch", env.group_ref("match"))
    assert missing.status_code == 422
    assert missing.json()["errors"] == [{"field": "body.comment", "message": "a comment is required"}]
    wrong_state = env.act("preparer", "unmatch", {**env.group_ref("sug1"), "comment": "x"})
    assert wrong_state.status_code == 409
    decision = env.act("preparer", "unmatch", {**env.group_ref("match"), "comment": "not ours"}).json()
    assert env.post("approver", f"/decisions/{decision['decisions'][0]['id']}/approve", {}).status_code == 200
    assert env.group("match").status == "unmatched"
    item = env.item("m1l")
    assert (item.state, item.reason, item.group_id) == ("unmatched", "unmatched_manually", None)


def test_writeoff_of_a_break_and_of_unmatched_records(env: Env) -> None:
    no_reason = env.act("preparer", "writeoff", {**env.group_ref("brk"), "reason_code": "", "comment": "fee"})
    assert no_reason.status_code == 422
    brk = env.act(
        "preparer", "writeoff", {**env.group_ref("brk"), "reason_code": "bank_fee", "comment": "fee"}
    )
    assert brk.status_code == 201, brk.text
    assert brk.json()["decisions"][0]["difference"] == "5.00"
    single = env.act(
        "preparer", "writeoff", {"items": [env.ref("ul3")], "reason_code": "timing", "comment": "t"}
    )
    assert single.status_code == 201, single.text
    ids = [brk.json()["decisions"][0]["id"], single.json()["decisions"][0]["id"]]
    approved = env.post(
        "approver", f"/runs/{env.run.run_id}/bulk/approve", {"decisions": [{"id": i} for i in ids]}
    )
    assert approved.status_code == 200, approved.text
    group = env.group("brk")
    assert (group.status, group.writeoff_amount, group.writeoff_reason) == (
        "matched",
        Decimal("5.00"),
        "bank_fee",
    )
    assert env.item("b1l").state == "matched"
    item = env.item("ul3")
    assert item.state == "matched"
    written = env.group(item.group_id or 0)
    assert (written.writeoff_amount, written.writeoff_reason, written.left_count) == (
        Decimal("7.00"),
        "timing",
        1,
    )


def test_without_required_approval_decisions_apply_at_once(make_env: Callable[..., Env]) -> None:
    env = make_env(require_approval=False)
    response = env.act("preparer", "confirm", env.group_ref("sug1"))
    assert response.status_code == 201
    decision = response.json()["decisions"][0]
    assert decision["status"] == "applied"
    assert decision["decided_at"] is not None
    assert env.group("sug1").status == "matched"
    matched = env.act("preparer", "manual-match", {"items": [env.ref("ul1"), env.ref("ur1")], "comment": "a"})
    assert matched.json()["groups"][0]["status"] == "matched"
    assert env.item("ul1").state == "matched"
    assert env.item("ul1").reason is None
    assert "decision.created" in _audit_actions(env)
    # nothing is pending, so there is nothing to approve
    assert env.post("approver", f"/decisions/{decision['id']}/approve", {}).status_code == 409


def test_viewers_cannot_act_and_other_projects_cannot_see(env: Env, make_env: Callable[..., Env]) -> None:
    assert env.act("viewer", "confirm", env.group_ref("sug1")).status_code == 403
    other = make_env()
    # a member of another project: the run does not exist for them
    assert other.act("preparer", "confirm", env.group_ref("sug1"), run_id=env.run.run_id).status_code == 404
    # a group of another run of the same caller's project is not a group of this run
    foreign = other.group_ref("sug1")
    wrong_run = env.act("preparer", "confirm", foreign)
    assert wrong_run.status_code == 422
    assert wrong_run.json()["errors"][0]["field"] == "body.group_id"
