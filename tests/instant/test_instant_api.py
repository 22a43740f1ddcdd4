"""POST /projects/{id}/transactions:reconcile: matches, breaks, leftovers and skipped passes in one answer;
matched open items close in the request's transaction; Idempotency-Key replays; bad input named by field;
who may call it."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from feeds.feed_helpers import API, create_ruleset, entries, ledger_csv, upload_ready
from recon.models import Project, Role, User

RULES = """\
version: 1
name: instant
left: {id: id}
right: {id: id}
passes:
  - name: exact
    kind: one_to_one
    match:
      - {left: reference, right: reference, op: equals, normalize: [trim, upper]}
      - {left: amount, right: amount, op: tolerance, abs: 0.01}
  - name: reference-breaks
    kind: one_to_one
    match:
      - {left: reference, right: reference, op: equals, normalize: [digits]}
    compare:
      - {left: amount, right: amount, abs: 0.01}
  - name: near
    kind: one_to_one
    match:
      - {left: amount, right: amount, op: tolerance, abs: 0.01}
      - {left: date, right: date, op: within_days, days: 2}
  - name: batches
    kind: many_to_one
    group_by: [date]
    match: [{left: date, right: date, op: equals}]
    sum: {left: amount, right: amount, abs: 0.01}
"""


@pytest.fixture
def world(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> dict[str, Any]:
    project = make_project()
    headers = auth_headers(make_user(role=Role.PREPARER, project=project))
    rows = entries(12)
    ledger = upload_ready(client, headers, project.id, "ledger.csv", ledger_csv(rows))
    ruleset = create_ruleset(client, headers, project.id, RULES)
    return {
        "project": project,
        "headers": headers,
        "rows": rows,
        "base": {"dataset_id": ledger, "ruleset_id": ruleset},
        "url": f"{API}/projects/{project.id}/transactions:reconcile",
    }


def _txn(ident: str, ref: str, amount: Decimal | str, day: str = "2024-03-05") -> dict[str, Any]:
    return {"id": ident, "reference": ref, "amount": str(amount), "date": day, "currency": "EUR"}


def test_matches_breaks_and_leftovers_in_one_answer(client: TestClient, world: dict[str, Any]) -> None:
    rows = world["rows"]
    ref1, day1, amount1 = rows[0]
    ref2, _, amount2 = rows[1]
    txns = [
        _txn("B1", f" {ref1.lower()} ", amount1, day1.isoformat()),  # exact (normalised reference)
        _txn("B2", f"/REF/{ref2}", amount2 - Decimal("1.50")),  # same digits, amount off: a break
        _txn("B3", "UNKNOWN", "99999.99"),  # nothing like it
    ]
    answer = client.post(world["url"], json={**world["base"], "transactions": txns}, headers=world["headers"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    by_txn = {m["transaction_id"]: m for m in body["matches"]}
    assert by_txn["B1"]["status"] == "matched" and by_txn["B1"]["pass_name"] == "exact"
    assert by_txn["B1"]["item"]["id"] == "L1" and by_txn["B1"]["item"]["amount"] == f"{amount1:.2f}"
    assert by_txn["B2"]["status"] == "break" and by_txn["B2"]["item"]["id"] == "L2"
    assert by_txn["B2"]["differences"] == {
        "amount": f"{amount2.normalize():f} vs {(amount2 - Decimal('1.50')).normalize():f}"
    }
    assert body["leftovers"] == [{"transaction_id": "B3", "reason": "no_candidate"}]
    assert body["skipped_passes"] == [
        {"pass_name": "batches", "reason": "kind many_to_one (grouped matching runs in runs only)"}
    ]
    counts = {"transactions": 3, "matched": 1, "breaks": 1, "suggested": 0, "leftovers": 1}
    assert body["summary"] == {**counts, "open_items": len(rows) - 2}

    # the matched items are closed: the same transactions again find nothing
    again = client.post(world["url"], json={**world["base"], "transactions": txns}, headers=world["headers"])
    assert again.json()["matches"] == []
    assert again.json()["summary"]["open_items"] == len(rows) - 2


def test_a_tie_is_a_suggestion_and_closes_nothing(client: TestClient, world: dict[str, Any]) -> None:
    rows = world["rows"]
    # two transactions that both fit one item equally well (amount within the tolerance, same date)
    _, day, amount = rows[4]
    txns = [_txn("T1", "", amount, day.isoformat()), _txn("T2", "", amount, day.isoformat())]
    body = client.post(
        world["url"], json={**world["base"], "transactions": txns}, headers=world["headers"]
    ).json()
    assert body["matches"] == []
    assert [s["transaction_id"] for s in body["suggestions"]] == ["T1"]
    assert body["suggestions"][0]["rival"]["id"] == "T2"
    assert body["summary"]["open_items"] == len(rows)


def test_idempotency_key_replays_the_same_answer(client: TestClient, world: dict[str, Any]) -> None:
    ref, day, amount = world["rows"][2]
    payload = {**world["base"], "transactions": [_txn("K1", ref, amount, day.isoformat())]}
    headers = {**world["headers"], "Idempotency-Key": "push-0001"}
    first = client.post(world["url"], json=payload, headers=headers)
    retry = client.post(world["url"], json=payload, headers=headers)
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert len(first.json()["matches"]) == 1
    other = {**payload, "transactions": [_txn("K2", "X", "1.00")]}
    reused = client.post(world["url"], json=other, headers=headers)
    assert reused.status_code == 422 and "Idempotency-Key" in reused.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"transactions": [{"id": "A", "amount": "12,50"}]}, "body.transactions.0.amount"),
        ({"transactions": [{"id": "A", "date": "2024-13-01"}]}, "body.transactions.0.date"),
        ({"transactions": [{"id": "A", "currency": "euro"}]}, "body.transactions.0.currency"),
        ({"transactions": [{"id": "A\u0000"}]}, "body.transactions[0].id"),  # refused before validation
        ({"transactions": [{"id": "A", "colour": "red"}]}, "body.transactions.0.colour"),
        ({"transactions": [{"id": "A"}, {"id": "A"}]}, "body.transactions.1.id"),
        ({"transactions": [{"id": str(n)} for n in range(10_001)]}, "body.transactions"),
        ({"dataset_id": "missing", "transactions": []}, "body.dataset_id"),
        ({"ruleset_id": "missing", "transactions": []}, "body.ruleset_id"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: TestClient, world: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    response = client.post(world["url"], json={**world["base"], **change}, headers=world["headers"])
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


def test_viewers_and_other_projects_keys_cannot_reconcile(
    client: TestClient,
    world: dict[str, Any],
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> None:
    viewer = auth_headers(make_user(role=Role.VIEWER, project=world["project"]))
    payload = {**world["base"], "transactions": []}
    assert client.post(world["url"], json=payload, headers=viewer).status_code == 403
    stranger = auth_headers(make_user(role=Role.OWNER, project=make_project()))
    assert client.post(world["url"], json=payload, headers=stranger).status_code == 404


def test_a_key_restricted_to_another_project_cannot_reconcile(
    client: TestClient,
    world: dict[str, Any],
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> None:
    owner = make_user(role=Role.OWNER, project=world["project"])
    elsewhere = make_project(owner=owner)
    keys = "/api/v1/auth/api-keys"
    other_key = client.post(
        keys, json={"name": "ci", "project_id": elsewhere.id}, headers=auth_headers(owner)
    )
    own_key = client.post(
        keys, json={"name": "ci", "project_id": world["project"].id}, headers=auth_headers(owner)
    )
    payload = {**world["base"], "transactions": []}
    assert (
        client.post(world["url"], json=payload, headers={"X-API-Key": other_key.json()["key"]}).status_code
        == 404
    )
    assert (
        client.post(world["url"], json=payload, headers={"X-API-Key": own_key.json()["key"]}).status_code
        == 200
    )


def test_a_dataset_with_open_items_cannot_be_deleted(client: TestClient, world: dict[str, Any]) -> None:
    payload = {**world["base"], "transactions": []}
    assert client.post(world["url"], json=payload, headers=world["headers"]).status_code == 200
    dataset_url = f"{API}/projects/{world['project'].id}/datasets/{world['base']['dataset_id']}"
    refused = client.delete(dataset_url, headers=world["headers"])
    assert refused.status_code == 409 and "instant reconciliation" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("change", "detail", "field", "message"),
    [
        (
            {"dataset_id": "missing"},
            "body.dataset_id: no dataset 'missing' in this project",
            "body.dataset_id",
            "no dataset 'missing' in this project",
        ),
        (
            {"ruleset_id": "missing"},
            "the rule set does not exist in this project",
            "body.ruleset_id",
            "no rule set 'missing' here",
        ),
        (
            {"ruleset_version": 99},
            "rule set 'rules' has no version 99 (latest is 1)",
            "body.ruleset_version",
            "no version 99",
        ),
        (
            {"transactions": [{"id": "A"}, {"id": "A"}]},
            "body.transactions.1.id: duplicate id 'A' (also transactions[0])",
            "body.transactions.1.id",
            "duplicate id 'A' (also transactions[0])",
        ),
    ],
)
def test_refusals_read_exactly(
    client: TestClient, world: dict[str, Any], change: dict[str, Any], detail: str, field: str, message: str
) -> None:
    """The service names the command's fields; the endpoint places them (detail and errors) under `body.`."""
    body = {**world["base"], "transactions": [], **change}
    problem = client.post(world["url"], json=body, headers=world["headers"]).json()
    assert (problem["status"], problem["detail"], problem["errors"]) == (
        422,
        detail,
        [{"field": field, "message": message}],
    )
