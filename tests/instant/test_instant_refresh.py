"""A book follows its dataset's runs: when a newer run of the dataset succeeds, the next instant request
refreshes the book from that run's open items, and what instant requests closed before stays closed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from feeds.feed_helpers import API, create_ruleset, entries, ledger_csv, upload_ready, wait_for
from recon.models import Project, Role, User

RULES = """\
version: 1
name: refresh
left: {id: id}
right: {id: id}
passes:
  - name: exact
    kind: one_to_one
    match:
      - {left: reference, right: reference, op: equals}
      - {left: amount, right: amount, op: tolerance, abs: 0.01}
"""


def test_a_newer_run_refreshes_the_book_and_closes_stay(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> None:
    project = make_project()
    headers = auth_headers(make_user(role=Role.PREPARER, project=project))
    rows = entries(12)
    ledger = upload_ready(client, headers, project.id, "ledger.csv", ledger_csv(rows))
    ruleset = create_ruleset(client, headers, project.id, RULES)
    url = f"{API}/projects/{project.id}/transactions:reconcile"
    base = {"dataset_id": ledger, "ruleset_id": ruleset}

    def txn(ident: str, n: int) -> dict[str, Any]:
        ref, _, amount = rows[n - 1]
        return {"id": ident, "reference": ref, "amount": str(amount), "currency": "EUR"}

    first = client.post(url, json={**base, "transactions": [txn("T1", 1)]}, headers=headers).json()
    assert [m["item"]["id"] for m in first["matches"]] == ["L1"] and first["seeded_from_run_id"] is None

    # a run of the ledger against a bank file matches L2 and L3
    bank = ledger_csv([rows[1], rows[2]]).replace(b"\nL", b"\nB")
    bank_id = upload_ready(client, headers, project.id, "bank.csv", bank)
    body = {"left_dataset_id": ledger, "right_dataset_id": bank_id, "ruleset_id": ruleset}
    started = client.post(f"{API}/projects/{project.id}/runs", json=body, headers=headers)
    assert started.status_code in {201, 202}, started.text
    run_id = started.json()["id"]

    def finished() -> Any:
        run = client.get(f"{API}/runs/{run_id}", headers=headers).json()
        return run if run["status"] in {"succeeded", "failed", "cancelled"} else None

    assert wait_for(finished, "the run")["status"] == "succeeded"  # type: ignore[index]

    txns = [txn("T1b", 1), txn("T2", 2), txn("T4", 4)]
    answer = client.post(url, json={**base, "transactions": txns}, headers=headers).json()
    assert answer["seeded_from_run_id"] == run_id
    # L1: closed by the first request (not reopened by the refresh); L2: matched by the run; L4: open
    assert [(m["transaction_id"], m["item"]["id"]) for m in answer["matches"]] == [("T4", "L4")]
    assert sorted(x["transaction_id"] for x in answer["leftovers"]) == ["T1b", "T2"]
    assert answer["summary"]["open_items"] == len(rows) - 4
