"""Instant reconciliation weighs dates like a run (ADR 0020): on a near tie (two open items with the same
texts and amount, one booked a likely number of days before the transaction, one an unlikely number) a run
and an instant request decide the same pair; without date evidence both leave it a suggestion. The plain
Python rule (recon.engine.date_levels) counts levels as the engine's NumPy estimate does."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from dated_rules import dated_pass, dated_rules_text
from fastapi.testclient import TestClient

from engine.helpers import groups_of, rules_for, side
from feeds.feed_helpers import API, create_ruleset, upload_ready
from recon.engine import reconcile
from recon.engine.date_levels import count_levels, level_weights
from recon.engine.dates import estimate
from recon.models import Project, Role, User

START = dt.date(2024, 3, 1)
LONE, TIES = 60, 40


def _record(ident: str, day: dt.date, amount: Decimal, counterparty: str) -> dict[str, Any]:
    return {"id": ident, "date": day, "amount": amount, "counterparty": counterparty}


def _data() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Open items (left) and transactions (right). Lone pairs: the transaction is booked a day after its
    item. Near ties: two items of one counterparty and amount, one a day before the transaction (the
    likely difference), one 4 days after it (within the window, but never seen in a lone pair)."""
    items: list[dict[str, Any]] = []
    txns: list[dict[str, Any]] = []
    for i in range(LONE):
        day = START + dt.timedelta(days=i % 20)
        amount = Decimal(100 + i) + Decimal("0.25")
        items.append(_record(f"L{i}", day, amount, f"LONE {i}"))
        txns.append(_record(f"R{i}", day + dt.timedelta(days=1), amount, f"LONE {i}"))
    for j in range(TIES):
        day = START + dt.timedelta(days=j % 20)
        amount = Decimal(1000 + 2 * j) + Decimal("0.50")
        name = f"TIE {j}"
        items.append(_record(f"TA{j}", day, amount, name))
        items.append(_record(f"TB{j}", day + dt.timedelta(days=5), amount, name))
        txns.append(_record(f"TR{j}", day + dt.timedelta(days=1), amount, name))
    return items, txns


def _table(records: list[dict[str, Any]]) -> Any:
    return side(
        [r["id"] for r in records],
        [str(r["amount"]) for r in records],
        [r["date"].isoformat() for r in records],
        currency=["EUR"] * len(records),
        counterparty=[r["counterparty"] for r in records],
    )


def _batch(date_evidence: bool, side: str = "right") -> dict[str, tuple[str, str]]:
    """A run's decision per transaction: (status, item id). `side`: the transactions' side."""
    items, txns = _data()
    rules = rules_for(dated_pass(date_evidence))
    if side == "right":
        result = reconcile(_table(items), _table(txns), rules)
        return {right[0]: (status, left[0]) for _, status, left, right in groups_of(result)}
    result = reconcile(_table(txns), _table(items), rules)
    return {left[0]: (status, right[0]) for _, status, left, right in groups_of(result)}


@pytest.fixture
def instant(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> Callable[..., dict[str, tuple[str, str]]]:
    project = make_project()
    headers = auth_headers(make_user(role=Role.PREPARER, project=project))
    items, txns = _data()
    lines = ["id,date,amount,currency,counterparty"]
    lines += [f"{r['id']},{r['date'].isoformat()},{r['amount']},EUR,{r['counterparty']}" for r in items]
    ledger = upload_ready(client, headers, project.id, "ledger.csv", ("\n".join(lines) + "\n").encode())
    body = [
        {"id": t["id"], "date": t["date"].isoformat(), "amount": str(t["amount"]), "currency": "EUR",
         "counterparty": t["counterparty"]}
        for t in txns
    ]  # fmt: skip

    def decide(date_evidence: bool, side: str = "right") -> dict[str, tuple[str, str]]:
        ruleset = create_ruleset(client, headers, project.id, dated_rules_text(date_evidence))
        answer = client.post(
            f"{API}/projects/{project.id}/transactions:reconcile",
            json={"dataset_id": ledger, "ruleset_id": ruleset, "side": side, "transactions": body},
            headers=headers,
        )
        assert answer.status_code == 200, answer.text
        data = answer.json()
        assert data["skipped_passes"] == []
        decided = {m["transaction_id"]: (m["status"], m["item"]["id"]) for m in data["matches"]}
        for match in data["matches"]:
            assert match["score"] == 1.0  # the score stays the score items' mean; dates only decide
        for suggestion in data["suggestions"]:
            decided[suggestion["transaction_id"]] = ("suggested", suggestion["item"]["id"])
        return decided

    return decide


@pytest.mark.parametrize("side", ["right", "left"])  # the transactions' side of the rule set
def test_batch_and_instant_decide_a_near_tie_by_dates_alike(
    instant: Callable[..., dict[str, tuple[str, str]]], side: str
) -> None:
    batch = _batch(date_evidence=True, side=side)
    assert {batch[f"TR{j}"] for j in range(TIES)} == {("matched", f"TA{j}") for j in range(TIES)}
    assert instant(True, side) == batch
    assert len(batch) == LONE + TIES


def test_without_date_evidence_both_leave_the_tie_suggested(
    instant: Callable[..., dict[str, tuple[str, str]]],
) -> None:
    batch = _batch(date_evidence=False)
    assert all(batch[f"TR{j}"][0] == "suggested" for j in range(TIES))
    answer = instant(False)
    assert all(answer[f"TR{j}"][0] == "suggested" for j in range(TIES))
    assert {t: s for t, (s, _) in answer.items()} == {t: s for t, (s, _) in batch.items()}


def test_plain_python_levels_match_the_engine_estimate() -> None:
    rng = random.Random(20)
    for _ in range(50):
        days = rng.randint(1, 6)
        n = rng.randint(0, 400)
        left = [rng.randint(0, n // 2 + 1) for _ in range(n)]
        right = [rng.randint(0, n // 2 + 1) for _ in range(n)]
        diff = [rng.randint(-days - 2, days + 2) for _ in range(n)]
        engine = estimate(np.array(left), np.array(right), np.array(diff), days)
        plain = level_weights(*count_levels(left, right, diff, days))
        if engine is None:
            assert plain is None
        else:
            assert plain == engine.bits.tolist()
