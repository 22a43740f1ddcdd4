"""Sign-off: refused while anything is open (with the counts), frozen afterwards, reopened by an approver."""

from __future__ import annotations

from sqlalchemy import select

from recon.core.db import session_scope
from recon.models import AuditEvent

from .conftest import Env

SIGNED_OFF = "https://recon.dev/problems/run-signed-off"


def _close_everything(env: Env) -> None:
    """Confirm the suggestions, write off the break and every unmatched record; approve all of it."""
    run = env.run.run_id
    groups = [{"id": env.group(n).id, "version": env.group(n).version} for n in ("sug1", "sug2")]
    assert env.act("preparer", "bulk/confirm", {"groups": groups}).status_code == 201
    brk = env.group("brk")
    items = [env.ref(n) for n in ("ul1", "ur1", "ul2", "ur2", "ul3")]
    written = env.act(
        "preparer",
        "bulk/writeoff",
        {
            "groups": [{"id": brk.id, "version": brk.version}],
            "items": items,
            "reason_code": "other",
            "comment": "month end",
        },
    )
    assert written.status_code == 201, written.text
    pending = env.get("viewer", f"/projects/{env.project.id}/decisions", status="pending_approval").json()
    refs = [{"id": d["id"]} for d in pending["items"]]
    assert env.post("approver", f"/runs/{run}/bulk/approve", {"decisions": refs}).status_code == 200


def test_sign_off_refused_while_exceptions_are_open(env: Env) -> None:
    opened = env.get("viewer", f"/runs/{env.run.run_id}/open-exceptions").json()
    assert opened == {"unmatched_items": 5, "breaks": 1, "suggested_groups": 2, "pending_decisions": 0}
    env.act("preparer", "confirm", env.group_ref("sug1"))
    refused = env.act("approver", "sign-off", {})
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["type"] == "https://recon.dev/problems/open-exceptions"
    assert {e["field"]: e["message"] for e in problem["errors"]} == {
        "unmatched_items": "5",
        "breaks": "1",
        "suggested_groups": "1",
        "pending_decisions": "1",
    }
    assert "5 unmatched items" in problem["detail"]
    assert env.act("preparer", "sign-off", {}).status_code == 403  # approver+


def test_sign_off_freezes_the_run_and_reopen_is_audited(env: Env) -> None:
    _close_everything(env)
    signed = env.act("approver", "sign-off", {"comment": "January done"})
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert body["signed_off_by_id"] == env.users["approver"].id
    (totals,) = body["control_totals"]
    assert totals["currency"] == "EUR"
    # Records written off on their own are reported apart from the matched ones.
    assert totals["left"]["matched"] == {"records": 4, "amount": "390.00"}
    assert totals["left"]["written_off"] == {"records": 3, "amount": "47.00"}
    assert totals["right"]["matched"] == {"records": 4, "amount": "385.00"}
    assert totals["right"]["written_off"] == {"records": 2, "amount": "42.50"}
    assert body["statement"]["sha256"]
    assert env.act("approver", "sign-off", {}).status_code == 409

    frozen = [
        env.act("preparer", "unmatch", {**env.group_ref("match"), "comment": "x"}),
        env.act(
            "preparer", "comments", {"target": "group", "target_id": env.run.groups["match"], "text": "x"}
        ),
        env.act("preparer", "assign", {"items": [env.ref("ul1")], "assignee_id": None}),
        env.act("preparer", "bulk/confirm", {"groups": [{"id": 1, "version": 1}]}),
    ]
    assert [r.status_code for r in frozen] == [409] * 4
    assert {r.json()["type"] for r in frozen} == {SIGNED_OFF}

    assert env.act("preparer", "reopen", {"comment": "late fee"}).status_code == 403  # approver+
    assert env.act("approver2", "reopen", {}).status_code == 422  # comment required
    reopened = env.act("approver2", "reopen", {"comment": "late bank fee found"})
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["signed_off_at"] is None
    assert env.act("preparer", "unmatch", {**env.group_ref("match"), "comment": "x"}).status_code == 201
    assert env.act("admin", "reopen", {"comment": "again"}).status_code == 409  # not signed off

    with session_scope(env.session_factory) as session:
        events = session.execute(
            select(AuditEvent.action, AuditEvent.data)
            .where(AuditEvent.project_id == env.project.id, AuditEvent.entity_id == env.run.run_id)
            .order_by(AuditEvent.seq)
        ).all()
    actions = [a for a, _ in events]
    assert actions == ["run.signed_off", "run.reopened"]
    assert events[0][1]["comment"] == "January done"
    assert events[1][1]["comment"] == "late bank fee found"
