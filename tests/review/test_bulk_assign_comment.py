"""Bulk forms (all or nothing, per-id errors), assignment, comments, the decisions list."""

from __future__ import annotations

from .conftest import Env


def _gref(env: Env, name: str) -> dict[str, int]:
    group = env.group(name)
    return {"id": group.id, "version": group.version}


def test_bulk_confirm_is_all_or_nothing(env: Env) -> None:
    stale = {**_gref(env, "sug2"), "version": 9}
    refused = env.act(
        "preparer", "bulk/confirm", {"groups": [_gref(env, "sug1"), stale, _gref(env, "match")]}
    )
    assert refused.status_code == 409, refused.text
    errors = refused.json()["errors"]
    assert [e["field"] for e in errors] == ["body.groups[1].version", "body.groups[2].id"]
    assert "is matched; confirm needs suggested" in errors[1]["message"]
    assert env.group("sug1").status == "suggested"  # nothing was changed
    assert env.decisions() == []

    done = env.act("preparer", "bulk/confirm", {"groups": [_gref(env, "sug1"), _gref(env, "sug2")]})
    assert done.status_code == 201, done.text
    decisions = done.json()["decisions"]
    assert len(decisions) == 2
    assert {g["status"] for g in done.json()["groups"]} == {"pending_approval"}
    approved = env.post(
        "approver",
        f"/runs/{env.run.run_id}/bulk/approve",
        {"decisions": [{"id": d["id"]} for d in decisions]},
    )
    assert approved.status_code == 200, approved.text
    assert {env.group("sug1").status, env.group("sug2").status} == {"matched"}


def test_bulk_unknown_ids_are_422_and_own_decisions_403(env: Env) -> None:
    unknown = env.act(
        "preparer", "bulk/reject", {"groups": [_gref(env, "sug1"), {"id": 987654, "version": 1}]}
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "body.groups[1].id"
    mine = env.act("approver", "bulk/confirm", {"groups": [_gref(env, "sug1")]}).json()["decisions"]
    theirs = env.act("preparer", "bulk/confirm", {"groups": [_gref(env, "sug2")]}).json()["decisions"]
    mixed = env.post(
        "approver",
        f"/runs/{env.run.run_id}/bulk/approve",
        {"decisions": [{"id": theirs[0]["id"]}, {"id": mine[0]["id"]}]},
    )
    assert mixed.status_code == 403
    assert mixed.json()["type"] == "https://recon.dev/problems/maker-checker"
    assert env.group("sug2").status == "pending_approval"  # all or nothing: the other one waits too
    rejected = env.post(
        "approver2",
        f"/runs/{env.run.run_id}/bulk/reject-decisions",
        {"decisions": [{"id": theirs[0]["id"]}, {"id": mine[0]["id"]}], "comment": "redo"},
    )
    assert rejected.status_code == 200, rejected.text
    assert {env.group("sug1").status, env.group("sug2").status} == {"suggested"}


def test_bulk_unmatch_and_writeoff(env: Env) -> None:
    unmatched = env.act(
        "preparer",
        "bulk/unmatch",
        {"groups": [_gref(env, "match"), _gref(env, "brk")], "comment": "wrong pairs"},
    )
    assert unmatched.status_code == 201, unmatched.text
    assert len(unmatched.json()["decisions"]) == 2
    written = env.act(
        "preparer",
        "bulk/writeoff",
        {"items": [env.ref("ul3"), env.ref("ul1")], "reason_code": "timing", "comment": "next month"},
    )
    assert written.status_code == 201, written.text
    decisions = written.json()["decisions"]
    assert len(decisions) == 2  # one per record
    assert {d["difference"] for d in decisions} == {"7.00", "30.00"}
    assert len({d["group_id"] for d in decisions}) == 2


def test_assign_groups_and_records(env: Env) -> None:
    preparer = env.users["preparer2"].id
    body = {"groups": [_gref(env, "brk")], "items": [env.ref("ul1"), env.ref("ur1")], "assignee_id": preparer}
    response = env.act("preparer", "assign", body)
    assert response.status_code == 200, response.text
    assert {i["assignee_id"] for i in response.json()["items"]} == {preparer}
    assert env.group("brk").assignee_id == preparer
    stale = env.act("preparer", "bulk/assign", body)  # the versions moved on
    assert stale.status_code == 409
    viewer = env.act("preparer", "assign", {"items": [env.ref("ul1")], "assignee_id": env.users["viewer"].id})
    assert viewer.status_code == 422
    assert viewer.json()["errors"][0]["field"] == "body.assignee_id"
    stranger = env.act("preparer", "assign", {"items": [env.ref("ul1")], "assignee_id": "nobody"})
    assert stranger.status_code == 422
    cleared = env.act("preparer", "assign", {"items": [env.ref("ul1")], "assignee_id": None})
    assert cleared.status_code == 200
    assert env.item("ul1").assignee_id is None
    nothing = env.act("preparer", "assign", {"assignee_id": None})
    assert nothing.status_code == 422


def test_comments(env: Env) -> None:
    group_id = env.run.groups["brk"]
    created = env.act("preparer", "comments", {"target": "group", "target_id": group_id, "text": "fee?"})
    assert created.status_code == 201, created.text
    assert created.json()["author_id"] == env.users["preparer"].id
    missing = env.act("preparer", "comments", {"target": "item", "target_id": group_id + 10_000, "text": "x"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "body.target_id"
    bulk = env.act(
        "preparer2",
        "bulk/comment",
        {
            "targets": [
                {"target": "item", "target_id": env.run.items["ul1"]},
                {"target": "group", "target_id": group_id},
            ],
            "text": "look at this",
        },
    )
    assert bulk.status_code == 201, bulk.text
    listed = env.get(
        "viewer", f"/runs/{env.run.run_id}/comments", target="group", target_id=group_id, limit=1
    )
    assert listed.status_code == 200
    page = listed.json()
    assert [c["text"] for c in page["items"]] == ["fee?"]
    rest = env.get(
        "viewer",
        f"/runs/{env.run.run_id}/comments",
        target="group",
        target_id=group_id,
        cursor=page["next_cursor"],
    )
    assert [c["text"] for c in rest.json()["items"]] == ["look at this"]
    assert rest.json()["next_cursor"] is None
    assert (
        env.act("viewer", "comments", {"target": "group", "target_id": group_id, "text": "x"}).status_code
        == 403
    )


def test_decisions_list_filters_and_pages(env: Env) -> None:
    env.act("preparer", "confirm", env.group_ref("sug1"))
    env.act("preparer2", "reject", env.group_ref("sug2"))
    env.act("preparer", "unmatch", {**env.group_ref("match"), "comment": "x"})
    path = f"/projects/{env.project.id}/decisions"
    everything = env.get("viewer", path).json()["items"]
    assert [d["kind"] for d in everything] == ["unmatch", "reject", "confirm"]  # newest first
    assert [d["kind"] for d in env.get("viewer", path, kind="reject").json()["items"]] == ["reject"]
    mine = env.get("viewer", path, maker_id=env.users["preparer"].id).json()["items"]
    assert [d["kind"] for d in mine] == ["unmatch", "confirm"]
    first = env.get("viewer", path, status="pending_approval", limit=2).json()
    second = env.get("viewer", path, status="pending_approval", limit=2, cursor=first["next_cursor"]).json()
    assert [d["kind"] for d in first["items"] + second["items"]] == ["unmatch", "reject", "confirm"]
    assert env.get("viewer", path, status="approved").json()["items"] == []
    one = env.get("viewer", f"/decisions/{everything[0]['id']}")
    assert one.status_code == 200
    assert one.json()["comment"] == "x"
    assert env.get("viewer", "/decisions/not-a-decision").status_code == 404
