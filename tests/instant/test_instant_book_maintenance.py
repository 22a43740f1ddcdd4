"""PostgreSQL upkeep of the book tables: an indexing job VACUUMs them (visibility map set: the lookups'
index-only scans stop visiting the heap), and an inline build's ANALYZE does not wait behind a lock held on
them (as a job's VACUUM holds it) for longer than its lock timeout: the request answers."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url

from feeds.feed_helpers import API, create_ruleset, entries, ledger_csv, upload_ready
from recon.config import Settings
from recon.core.db import create_db_engine, create_session_factory
from recon.instant import book as book_module
from recon.models import Project, Role, User

VISIBLE_PAGES = "SELECT relallvisible FROM pg_class WHERE relname = 'open_item_keys'"


def _psycopg_url(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
def test_an_inline_build_does_not_wait_behind_a_vacuum(
    client: TestClient,
    database_url: str,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(book_module, "ANALYZE_LOCK_TIMEOUT", "200ms")
    project = make_project()
    headers = auth_headers(make_user(role=Role.PREPARER, project=project))
    rows = entries(6)
    ledger = upload_ready(client, headers, project.id, "ledger.csv", ledger_csv(rows))
    ruleset = create_ruleset(client, headers, project.id)
    ref, day, amount = rows[0]
    payload = {
        "dataset_id": ledger,
        "ruleset_id": ruleset,
        "transactions": [{"id": "B1", "reference": ref, "amount": str(amount), "date": day.isoformat()}],
    }
    url = f"{API}/projects/{project.id}/transactions:reconcile"
    with psycopg.connect(_psycopg_url(database_url)) as vacuum:  # the lock a VACUUM holds while it runs
        vacuum.execute("LOCK TABLE open_items IN SHARE UPDATE EXCLUSIVE MODE")
        answer = client.post(url, json=payload, headers=headers)
        assert answer.status_code == 200, answer.text
        assert [m["item"]["id"] for m in answer.json()["matches"]] == ["L1"]
        vacuum.rollback()
    # the lock timeout is back to what it was for the rest of the request: the book is usable
    again = client.post(url, json={**payload, "transactions": []}, headers=headers)
    assert again.status_code == 200 and again.json()["summary"]["open_items"] == len(rows) - 1


@pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
def test_vacuum_after_a_job_sets_the_visibility_map(database_url: str, settings: Settings) -> None:
    factory = create_session_factory(create_db_engine(settings))
    with psycopg.connect(_psycopg_url(database_url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO open_item_keys (book_id, pass_no, key, row_no) "
            "SELECT 'b', 0, 'k' || n, n FROM generate_series(1, 2000) AS n"
        )
        before = conn.execute(VISIBLE_PAGES).fetchone()
        book_module.vacuum_books(factory)
        after = conn.execute(VISIBLE_PAGES).fetchone()
    assert before is not None and after is not None
    assert after[0] > before[0]
