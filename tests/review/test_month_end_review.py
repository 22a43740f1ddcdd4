"""Review for the month-end: a confirmed difference is written off in the same decision, reconciling items
(type fits the side, maker-checker, withdrawn by unmatch), separation of duties at sign-off, reopening by an
approver withdraws the statement."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from recon.core.db import session_scope
from recon.models import AuditEvent, Statement

from .conftest import Env

PROBLEM = "https://recon.dev/problems/"


def _approve_pending(env: Env) -> None:
    pending = env.get("viewer", f"/projects/{env.project.id}/decisions", status="pending_approval").json()
    refs = [{"id": d["id"]} for d in pending["items"]]
    if refs:
        done = env.post("approver2", f"/runs/{env.run.run_id}/bulk/approve", {"decisions": refs})
        assert done.status_code == 200, done.text


def test_accepting_a_break_writes_off_its_difference_in_one_decision(env: Env) -> None:
    ref = env.group_ref("brk")
    refused = env.act("preparer", "confirm", {**ref, "comment": "close enough"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body.writeoff_reason"
    assert "difference 5.00" in refused.json()["detail"]
    no_comment = env.act("preparer", "confirm", {**ref, "writeoff_reason": "bank_fee"})
    assert no_comment.status_code == 422 and no_comment.json()["errors"][0]["field"] == "body.comment"
    unknown = env.act("preparer", "confirm", {**ref, "writeoff_reason": "nope", "comment": "x"})
    assert unknown.status_code == 422

    made = env.act("preparer", "confirm", {**ref, "writeoff_reason": "bank_fee", "comment": "fee deducted"})
    assert made.status_code == 201, made.text
    (decision,) = made.json()["decisions"]
    assert (decision["kind"], decision["reason_code"], decision["difference"]) == (
        "confirm",
        "bank_fee",
        "5.00",
    )
    approved = env.post("approver", f"/decisions/{decision['id']}/approve", {})
    assert approved.status_code == 200, approved.text
    (group,) = approved.json()["groups"]
    assert (group["status"], group["writeoff_amount"], group["writeoff_reason"]) == (
        "matched",
        "5.00",
        "bank_fee",
    )
    assert len(env.decisions()) == 1  # one decision, one approval

    # a confirmation without a difference takes no write-off (and refuses one)
    zero = env.act("preparer", "confirm", {**env.group_ref("sug1"), "writeoff_reason": "bank_fee"})
    assert zero.status_code == 422 and zero.json()["errors"][0]["message"] == "the difference is zero"
    assert env.act("preparer", "confirm", env.group_ref("sug1")).status_code == 201
    env.check_invariants()


def test_bulk_confirm_needs_a_reason_when_any_group_differs(env: Env) -> None:
    groups = [{"id": env.group(n).id, "version": env.group(n).version} for n in ("sug1", "brk")]
    refused = env.act("preparer", "bulk/confirm", {"groups": groups, "comment": "x"})
    assert refused.status_code == 422 and f"group {env.run.groups['brk']}" in refused.json()["detail"]
    done = env.act(
        "preparer", "bulk/confirm", {"groups": groups, "comment": "x", "writeoff_reason": "small_difference"}
    )
    assert done.status_code == 201, done.text
    reasons = {d["group_id"]: d["reason_code"] for d in done.json()["decisions"]}
    assert reasons == {env.run.groups["sug1"]: None, env.run.groups["brk"]: "small_difference"}


def test_reconciling_items_fit_their_side_and_can_be_withdrawn(env: Env) -> None:
    wrong = env.act(
        "preparer",
        "reconciling-items",
        {"items": [env.ref("ur1")], "type": "deposit_in_transit", "comment": "x"},
    )
    assert wrong.status_code == 422 and "bank side" in wrong.json()["errors"][0]["message"]
    needs_comment = env.act("preparer", "reconciling-items", {"items": [env.ref("ul1")], "type": "timing"})
    assert needs_comment.status_code == 422

    made = env.act(
        "preparer",
        "reconciling-items",
        {"items": [env.ref("ul1"), env.ref("ul2")], "type": "deposit_in_transit", "comment": "banked 31st"},
    )
    assert made.status_code == 201, made.text
    decisions = made.json()["decisions"]
    assert [d["kind"] for d in decisions] == ["reconciling_item", "reconciling_item"]
    assert {d["reconciling_type"] for d in decisions} == {"deposit_in_transit"}
    assert {i["state"] for i in made.json()["items"]} == {"pending"}
    own = env.post("preparer", f"/decisions/{decisions[0]['id']}/approve", {})
    assert own.status_code == 403  # maker-checker: a preparer is no approver anyway
    _approve_pending(env)
    assert env.item("ul1").state == "reconciling"
    group = env.group(env.item("ul1").group_id or 0)
    assert (group.status, group.reconciling_type) == ("reconciling", "deposit_in_transit")
    opened = env.get("viewer", f"/runs/{env.run.run_id}/open-exceptions").json()
    assert opened["unmatched_items"] == 3  # ul1, ul2 explained: no longer open exceptions
    env.check_invariants()

    # withdrawn: unmatch dissolves the explanation, the record is unmatched again
    withdrawn = env.act(
        "preparer",
        "unmatch",
        {"group_id": group.id, "version": group.version, "comment": "it cleared after all"},
    )
    assert withdrawn.status_code == 201, withdrawn.text
    _approve_pending(env)
    assert env.item("ul1").state == "unmatched" and env.item("ul1").group_id is None
    env.check_invariants()


def _close(env: Env, maker: str) -> None:
    groups = [{"id": env.group(n).id, "version": env.group(n).version} for n in ("sug1", "sug2", "brk")]
    done = env.act(maker, "bulk/confirm", {"groups": groups, "writeoff_reason": "other", "comment": "ok"})
    assert done.status_code == 201, done.text
    items = [env.ref(n) for n in ("ul1", "ul2", "ul3")]
    explained = env.act(
        maker, "reconciling-items", {"items": items, "type": "timing", "comment": "next month"}
    )
    assert explained.status_code == 201, explained.text
    bank = [env.ref(n) for n in ("ur1", "ur2")]
    explained = env.act(maker, "reconciling-items", {"items": bank, "type": "bank_error", "comment": "bank"})
    assert explained.status_code == 201, explained.text
    _approve_pending(env)


def test_separation_of_duties_and_reopen(env: Env, make_env: Callable[..., Env]) -> None:
    _close(env, "approver")  # the approver made the decisions: another approver signs off
    refused = env.act("approver", "sign-off", {})
    assert refused.status_code == 403 and refused.json()["type"] == PROBLEM + "separation-of-duties"
    signed = env.act("admin", "sign-off", {"comment": "January"})
    assert signed.status_code == 200, signed.text
    statement_id = signed.json()["statement"]["id"]
    statement = env.get("viewer", f"/runs/{env.run.run_id}/statement").json()
    assert statement["id"] == statement_id
    (section,) = statement["document"]["sections"]
    assert section["agrees"] is True and section["unexplained_difference"] == "0.00"
    kinds = {(r["type"], r["side"]): r["amount"] for r in section["reconciling_items"]}
    assert kinds == {("timing", "left"): "47.00", ("bank_error", "right"): "42.50"}

    reopened = env.act("approver", "reopen", {"comment": "a late fee"})
    assert reopened.status_code == 200, reopened.text
    with session_scope(env.session_factory) as session:
        row = session.get(Statement, statement_id)
        assert row is not None and row.withdrawn_at is not None
        event = session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "run.reopened", AuditEvent.entity_id == env.run.run_id
            )
        )
        assert event is not None and event.data["statement_id"] == statement_id
    history = env.get("viewer", f"/runs/{env.run.run_id}/statements").json()["items"]
    assert [s["id"] for s in history] == [statement_id] and history[0]["withdrawn_at"]
    preview = env.get("viewer", f"/runs/{env.run.run_id}/statement").json()
    assert preview["id"] is None and preview["sha256"] is None

    # with the setting off, the approver who made the decisions may sign off
    lax = make_env()
    with session_scope(lax.session_factory) as session:
        from recon.models import Project

        project = session.get(Project, lax.project.id)
        assert project is not None
        project.settings = {**project.settings, "separation_of_duties": False}
    _close(lax, "approver")
    assert lax.act("approver", "sign-off", {}).status_code == 200
