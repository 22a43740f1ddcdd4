"""The issue's end-to-end check, through the API only, on SQLite and PostgreSQL: upload two demo datasets,
create a rule set, run, confirm a suggestion, manual match with a write-off, approve with a second user, try
to approve one's own decision (refused), sign off, export, verify the audit chain; then tamper with one audit
row in the database and see verification name it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from recon.demo import generate
from recon.models import Project, User

API = "/api/v1"
WAIT_S = 120.0  # a deadline for jobs, not a timing assertion


class Api:
    def __init__(self, client: TestClient, headers: Callable[[User | str], dict[str, str]]) -> None:
        self.client, self.headers = client, headers

    def call(self, user: User, method: str, path: str, expect: int | None = None, **kwargs: Any) -> Any:
        response = self.client.request(method, API + path, headers=self.headers(user), **kwargs)
        if expect is not None:
            assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response

    def walk(self, user: User, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        cursor = None
        while True:
            query = {**params, "limit": 1000, **({"cursor": cursor} if cursor else {})}
            body = self.call(user, "GET", path, 200, params=query).json()
            yield from body["items"]
            if not (cursor := body["next_cursor"]):
                return

    def wait(self, user: User, path: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_S
        while True:
            body: dict[str, Any] = self.call(user, "GET", path, 200).json()
            if done(body):
                return body
            assert time.monotonic() < deadline, f"timed out waiting for {path}: {body}"
            time.sleep(0.05)


def _upload(api: Api, user: User, project: Project, path: Path) -> str:
    files = {"file": (path.name, path.read_bytes(), "text/csv")}
    dataset = api.call(user, "POST", f"/projects/{project.id}/datasets", files=files).json()
    ready = api.wait(
        user,
        f"/projects/{project.id}/datasets/{dataset['id']}",
        lambda d: d["status"] != "pending" and d["status"] != "ingesting",
    )
    assert ready["status"] == "ready", ready
    return str(dataset["id"])


def _tamper(engine: Engine, event_id: str) -> None:
    """Edit an event behind the application's back, past the append-only triggers (as someone with rights
    over the database could: a superuser on PostgreSQL, the file's owner on SQLite)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(
            text("UPDATE audit_events SET data = :data WHERE id = :id"),
            {"data": '{"comment": "nothing to see"}', "id": event_id},
        )


@pytest.mark.timeout(600)
def test_reconciliation_workflow_end_to_end(
    client: TestClient,
    tmp_path: Path,
    db_engine: Engine,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> None:
    api = Api(client, auth_headers)
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    approver = make_user(role="approver", project=project)
    approver2 = make_user(role="approver", project=project)
    auditor = make_user(role="viewer", project=project)

    # upload two demo datasets and a rule set whose fuzzy pass only suggests
    demo = generate(150, tmp_path / "demo", seed=7)
    left_id = _upload(api, preparer, project, demo.left)
    right_id = _upload(api, preparer, project, demo.right)
    rules = demo.rules.read_text().replace(
        "    min_score: 0.65\n", "    min_score: 0.65\n    suggest: true\n"
    )
    assert "suggest: true" in rules
    ruleset = api.call(
        preparer,
        "POST",
        f"/projects/{project.id}/rulesets",
        201,
        json={"name": "ledger-vs-bank", "text": rules},
    ).json()

    # run
    run = api.call(
        preparer,
        "POST",
        f"/projects/{project.id}/runs",
        202,
        json={"left_dataset_id": left_id, "right_dataset_id": right_id, "ruleset_id": ruleset["id"]},
    ).json()
    run = api.wait(
        preparer, f"/runs/{run['id']}", lambda r: r["status"] in ("succeeded", "failed", "cancelled")
    )
    assert run["status"] == "succeeded", run
    runs = f"/runs/{run['id']}"

    # confirm a suggestion (the preparer makes, an approver checks)
    suggested = list(api.walk(preparer, f"{runs}/groups", status="suggested"))
    assert len(suggested) >= 3, "the demo rules with `suggest: true` must leave suggestions"
    first = next(g for g in suggested if g["difference"] == "0.00")
    confirm = api.call(
        preparer, "POST", f"{runs}/confirm", 201, json={"group_id": first["id"], "version": first["version"]}
    ).json()

    # manual match with a write-off: a ledger and a bank record in one currency whose amounts differ
    left = list(api.walk(preparer, f"{runs}/unmatched", side="left"))
    right = list(api.walk(preparer, f"{runs}/unmatched", side="right"))
    pair = next(
        (a, b)
        for a in left
        for b in right
        if a["currency"] == b["currency"]
        and a["amount"] is not None
        and b["amount"] is not None
        and a["amount"] != b["amount"]
    )
    items = [{"id": r["id"], "version": r["version"]} for r in pair]
    refused = api.call(
        preparer, "POST", f"{runs}/manual-match", 422, json={"items": items, "comment": "one payment"}
    )
    assert refused.json()["errors"][0]["field"] == "body.writeoff_reason"
    matched = api.call(
        preparer,
        "POST",
        f"{runs}/manual-match",
        201,
        json={"items": items, "comment": "one payment, FX difference", "writeoff_reason": "fx_rounding"},
    ).json()
    manual = matched["decisions"][0]
    assert manual["status"] == "pending_approval"
    assert manual["difference"] != "0.00"

    # approve with a second user
    for decision in (confirm["decisions"][0], manual):
        api.call(approver, "POST", f"/decisions/{decision['id']}/approve", 200, json={"comment": "checked"})
    group = api.call(auditor, "GET", f"{runs}/groups/{matched['groups'][0]['id']}", 200).json()
    assert (group["status"], group["writeoff_reason"]) == ("matched", "fx_rounding")

    # try to approve your own decision: refused; another approver may
    second = next(g for g in suggested if g["id"] != first["id"])
    own = api.call(
        approver,
        "POST",
        f"{runs}/confirm",
        201,
        json={
            "group_id": second["id"],
            "version": second["version"],
            "comment": "checked the difference",
            **({"writeoff_reason": "small_difference"} if second["difference"] != "0.00" else {}),
        },
    ).json()["decisions"][0]
    denied = api.call(approver, "POST", f"/decisions/{own['id']}/approve", 403, json={})
    assert denied.json()["type"] == "https://recon.dev/problems/maker-checker"
    api.call(approver2, "POST", f"/decisions/{own['id']}/approve", 200, json={})

    # sign-off is refused while exceptions are open; close them all (confirm, write off), approve
    blocked = api.call(approver2, "POST", f"{runs}/sign-off", 409, json={})
    assert blocked.json()["type"] == "https://recon.dev/problems/open-exceptions"
    rest = [
        {"id": g["id"], "version": g["version"]}
        for g in api.walk(preparer, f"{runs}/groups", status="suggested")
    ]
    api.call(
        preparer,
        "POST",
        f"{runs}/bulk/confirm",
        201,
        json={"groups": rest, "writeoff_reason": "small_difference", "comment": "within our tolerance"},
    )
    breaks = [
        {"id": g["id"], "version": g["version"]} for g in api.walk(preparer, f"{runs}/groups", status="break")
    ]
    open_items = [
        {"id": i["id"], "version": i["version"]}
        for side in ("left", "right")
        for i in api.walk(preparer, f"{runs}/unmatched", side=side)
    ]
    api.call(
        preparer,
        "POST",
        f"{runs}/bulk/writeoff",
        201,
        json={
            "groups": breaks,
            "items": open_items,
            "reason_code": "timing",
            "comment": "cleared next period",
        },
    )
    pending = [
        {"id": d["id"]}
        for d in api.walk(
            auditor, f"/projects/{project.id}/decisions", status="pending_approval", run_id=run["id"]
        )
    ]
    api.call(approver, "POST", f"{runs}/bulk/approve", 200, json={"decisions": pending})
    assert api.call(auditor, "GET", f"{runs}/open-exceptions", 200).json() == {
        "unmatched_items": 0,
        "breaks": 0,
        "suggested_groups": 0,
        "pending_decisions": 0,
    }
    # the approver made a decision in this run: separation of duties leaves the sign-off to another one
    refused_sod = api.call(approver, "POST", f"{runs}/sign-off", 403, json={"comment": "period closed"})
    assert refused_sod.json()["type"] == "https://recon.dev/problems/separation-of-duties"
    signed = api.call(approver2, "POST", f"{runs}/sign-off", 200, json={"comment": "period closed"}).json()
    assert signed["signed_off_by_id"] == approver2.id
    frozen = api.call(
        preparer,
        "POST",
        f"{runs}/unmatch",
        409,
        json={"group_id": group["id"], "version": group["version"], "comment": "x"},
    )
    assert frozen.json()["type"] == "https://recon.dev/problems/run-signed-off"

    # export (an auditor may)
    export = api.call(
        auditor, "POST", f"{runs}/exports", 202, json={"what": "groups", "format": "csv"}
    ).json()
    export = api.wait(auditor, f"/exports/{export['id']}", lambda e: e["status"] in ("succeeded", "failed"))
    assert export["status"] == "succeeded", export
    download = api.call(auditor, "GET", f"/exports/{export['id']}/download", 200)
    assert download.content.count(b"\n") == export["rows"] + 1  # header + one line per member

    # the audit chain is intact and holds the story
    verified = api.call(auditor, "GET", f"/projects/{project.id}/audit/verify", 200).json()
    assert verified["ok"] is True, verified
    events = list(api.walk(auditor, f"/projects/{project.id}/audit", order="asc"))
    actions = [e["action"] for e in events]
    for action in (
        "dataset.uploaded",
        "ruleset.version_created",
        "run.created",
        "decision.created",
        "decision.approved",
        "run.signed_off",
    ):
        assert action in actions, (action, sorted(set(actions)))
    approval = next(
        e for e in events if e["action"] == "decision.approved" and e["entity_id"] == manual["id"]
    )

    # tamper with one row in the database: verification names it
    _tamper(db_engine, approval["id"])
    broken = api.call(auditor, "GET", f"/projects/{project.id}/audit/verify", 200).json()
    assert broken["ok"] is False
    assert broken["first_broken_event_id"] == approval["id"]
    assert "modified" in broken["reason"]
