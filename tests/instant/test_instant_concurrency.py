"""Two instant requests racing for the same open items: each item closes once, for one of them; the other
request answers it as a leftover. Also the close itself: a second close of a closed item is refused whole."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from feeds.feed_helpers import API, create_ruleset, entries, ledger_csv, upload_ready
from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.core.errors import Conflict
from recon.instant.match import Pairing
from recon.instant.service import InstantService
from recon.models import OpenItemBook, OpenItemClose, Project, Role, User

RULES = """\
version: 1
name: race
left: {id: id}
right: {id: id}
passes:
  - name: exact
    kind: one_to_one
    match:
      - {left: reference, right: reference, op: equals}
      - {left: amount, right: amount, op: tolerance, abs: 0.01}
"""
ITEMS = 30


@pytest.fixture
def race(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> dict[str, Any]:
    project = make_project()
    headers = auth_headers(make_user(role=Role.PREPARER, project=project))
    rows = entries(ITEMS)
    ledger = upload_ready(client, headers, project.id, "ledger.csv", ledger_csv(rows))
    ruleset = create_ruleset(client, headers, project.id, RULES)
    base = {"dataset_id": ledger, "ruleset_id": ruleset}
    url = f"{API}/projects/{project.id}/transactions:reconcile"
    assert client.post(url, json={**base, "transactions": []}, headers=headers).status_code == 200
    return {"rows": rows, "base": base, "url": url, "headers": headers}


def test_racing_requests_close_each_item_once(
    client: TestClient, race: dict[str, Any], session_factory: SessionFactory
) -> None:
    def payload(who: str) -> dict[str, Any]:
        txns = [
            {"id": f"{who}{n}", "reference": ref, "amount": str(amount), "currency": "EUR"}
            for n, (ref, _, amount) in enumerate(race["rows"])
        ]
        return {**race["base"], "transactions": txns}

    start = threading.Barrier(2)
    answers: dict[str, Any] = {}

    def send(who: str) -> None:
        body = payload(who)
        start.wait()
        answers[who] = client.post(race["url"], json=body, headers=race["headers"])

    threads = [threading.Thread(target=send, args=(who,)) for who in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert {who: a.status_code for who, a in answers.items()} == {"A": 200, "B": 200}
    matched = {who: [m["item"]["id"] for m in a.json()["matches"]] for who, a in answers.items()}
    # one request took every item (the book lock serialises them), the other found them closed
    assert sorted(len(ids) for ids in matched.values()) == [0, ITEMS]
    loser = "A" if not matched["A"] else "B"
    assert {x["reason"] for x in answers[loser].json()["leftovers"]} == {"no_candidate"}
    with session_scope(session_factory) as session:
        book = session.scalar(
            select(OpenItemBook).where(OpenItemBook.dataset_id == race["base"]["dataset_id"])
        )
        assert book is not None and book.open_items == 0
        closes = session.scalar(select(func.count()).where(OpenItemClose.book_id == book.id))
        assert closes == ITEMS


def test_closing_a_closed_item_refuses_the_whole_close(
    client: TestClient, race: dict[str, Any], session_factory: SessionFactory, settings: Settings
) -> None:
    txns = [{"id": "T1", "reference": race["rows"][0][0], "amount": str(race["rows"][0][2])}]
    first = client.post(race["url"], json={**race["base"], "transactions": txns}, headers=race["headers"])
    assert [m["item"]["row"] for m in first.json()["matches"]] == [1]
    with session_scope(session_factory) as session:
        book = session.scalar(
            select(OpenItemBook).where(OpenItemBook.dataset_id == race["base"]["dataset_id"])
        )
        assert book is not None
        book_id = book.id
        pairs = [
            Pairing(txn=n, item={"row_no": row}, pass_name="exact", score=1.0) for n, row in enumerate((2, 1))
        ]
        with pytest.raises(Conflict):  # row 1 is closed already: row 2 must not close alone
            InstantService(session, settings)._close(book, "request-x", pairs)
        session.rollback()
    with session_scope(session_factory) as session:
        rows = session.scalars(select(OpenItemClose.row_no).where(OpenItemClose.book_id == book_id)).all()
        assert rows == [1]
