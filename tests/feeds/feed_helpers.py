"""A generated bank statement (MT940) and the ledger it pays, a rule set that reconciles them, and waits for
the embedded worker (deadlines, not timing assertions)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from fastapi.testclient import TestClient

from recon.config import Settings
from recon.core.db import SessionFactory
from recon.schedules.tick import run_tick

API = "/api/v1"
WAIT_S = 60.0

RULES = """\
version: 1
name: ledger-vs-bank
left: {id: id}
right: {id: id}
passes:
  - name: exact
    kind: one_to_one
    match:
      - {left: reference, right: reference, op: equals, normalize: [trim, upper]}
      - {left: amount, right: amount, op: tolerance, abs: 0.01}
"""


def entries(count: int, start: dt.date = dt.date(2024, 3, 1)) -> list[tuple[str, dt.date, Decimal]]:
    """(reference, booking date, signed amount): credits and debits, cents included."""
    out = []
    for n in range(1, count + 1):
        amount = Decimal(n * 37 % 900 + 10) + Decimal(n % 100) / 100
        out.append((f"INV{n:06d}", start + dt.timedelta(days=n % 20), amount if n % 3 else -amount))
    return out


def _mt_amount(value: Decimal) -> str:
    return f"{abs(value):.2f}".replace(".", ",")


def mt940(
    rows: list[tuple[str, dt.date, Decimal]], statement: str = "STMT-1", opening: Decimal = Decimal(0)
) -> bytes:
    """One MT940 statement with these entries; the closing balance is opening + their sum (integrity)."""
    closing = opening + sum((r[2] for r in rows), Decimal(0))
    first = rows[0][1] if rows else dt.date(2024, 3, 1)
    lines = [f":20:{statement}", ":25:DE89370400440532013000", ":28C:1/1",
             f":60F:{'C' if opening >= 0 else 'D'}{first:%y%m%d}EUR{_mt_amount(opening)}"]  # fmt: skip
    for ref, day, amount in rows:
        lines.append(f":61:{day:%y%m%d}{'C' if amount >= 0 else 'D'}{_mt_amount(amount)}NTRF{ref}")
        lines.append(f":86:Payment {ref}")
    lines.append(f":62F:{'C' if closing >= 0 else 'D'}{rows[-1][1]:%y%m%d}EUR{_mt_amount(closing)}")
    lines.append("-")
    return ("\r\n".join(lines) + "\r\n").encode()


def ledger_csv(rows: list[tuple[str, dt.date, Decimal]]) -> bytes:
    out = ["id,date,amount,currency,reference"]
    out += [f"L{n},{day.isoformat()},{amount},EUR,{ref}" for n, (ref, day, amount) in enumerate(rows, 1)]
    return ("\n".join(out) + "\n").encode()


def wait_for(check: Callable[[], object], what: str) -> object:
    deadline = time.monotonic() + WAIT_S
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


def upload_ready(client: TestClient, headers: dict[str, str], project_id: str, name: str, data: bytes) -> str:
    url = f"{API}/projects/{project_id}/datasets"
    created = client.post(url, files={"file": (name, data, "text/csv")}, headers=headers)
    assert created.status_code == 202, created.text
    dataset_id = str(created.json()["id"])

    def ready() -> bool:
        status = client.get(f"{url}/{dataset_id}", headers=headers).json()["status"]
        assert status != "failed", client.get(f"{url}/{dataset_id}", headers=headers).json()
        return bool(status == "ready")

    wait_for(ready, f"dataset {name}")
    return dataset_id


def create_ruleset(client: TestClient, headers: dict[str, str], project_id: str, text: str = RULES) -> str:
    response = client.post(
        f"{API}/projects/{project_id}/rulesets", json={"name": "rules", "text": text}, headers=headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@dataclass
class FeedScene:
    """A project's ledger and rule set uploaded, and the scheduler's tick (called by the test) with the runs
    it has fired so far."""

    factory: SessionFactory
    settings: Settings
    ledger: str
    ruleset: str
    fired: list[str] = field(default_factory=list)

    def tick(self) -> int:
        """One scheduler tick: the datasets it made from new feed files (the runs it fired go to `fired`)."""
        result = run_tick(self.factory, self.settings)
        self.fired.extend(result.runs)
        return result.datasets


def feed_scene(
    client: TestClient,
    settings: Settings,
    headers: dict[str, str],
    project_id: str,
    rows: list[tuple[str, dt.date, Decimal]],
) -> FeedScene:
    """The ledger of `rows` and the rule set, uploaded through the API of `client` (an app of `settings`)."""
    ledger = upload_ready(client, headers, project_id, "ledger.csv", ledger_csv(rows))
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    return FeedScene(factory, settings, ledger, create_ruleset(client, headers, project_id))
