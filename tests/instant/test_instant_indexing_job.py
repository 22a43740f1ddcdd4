"""A dataset above INSTANT_INLINE_INDEX_ROWS has its open items indexed by a job: the first request answers
202 with the job, later ones reconcile against the book the job built."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from feeds.feed_helpers import API, create_ruleset, entries, ledger_csv, upload_ready, wait_for
from recon.app import create_app
from recon.config import Settings
from recon.models import Project, Role, User


def test_large_datasets_are_indexed_by_a_job(
    make_settings: Callable[..., Settings],
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> None:
    project = make_project()
    headers = auth_headers(make_user(role=Role.PREPARER, project=project))
    rows = entries(8)
    with TestClient(create_app(make_settings(instant_inline_index_rows=0))) as client:
        ledger = upload_ready(client, headers, project.id, "ledger.csv", ledger_csv(rows))
        ruleset = create_ruleset(client, headers, project.id)
        url = f"{API}/projects/{project.id}/transactions:reconcile"
        ref, day, amount = rows[0]
        payload = {
            "dataset_id": ledger,
            "ruleset_id": ruleset,
            "transactions": [{"id": "B1", "reference": ref, "amount": str(amount), "date": day.isoformat()}],
        }
        first = client.post(url, json=payload, headers=headers)
        assert first.status_code == 202, first.text
        assert first.json()["status"] == "indexing" and first.json()["job_id"]

        def answered() -> Any:
            response = client.post(url, json=payload, headers=headers)
            if response.status_code == 409:  # still indexing
                assert response.json()["type"].endswith("open-items-indexing")
                return None
            return response

        answer: Any = wait_for(answered, "the indexing job")
        assert answer.status_code == 200, answer.text
        assert [m["item"]["id"] for m in answer.json()["matches"]] == ["L1"]
        assert answer.json()["summary"]["open_items"] == len(rows) - 1
        job = client.get(f"{API}/jobs/{first.json()['job_id']}", headers=headers).json()
        assert job["status"] == "succeeded"
