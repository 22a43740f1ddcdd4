"""A month-end an auditor accepts, through the API only, on SQLite and PostgreSQL: a German ERP ledger export
(semicolons, decimal comma, Soll/Haben, umlauts, cp1252) against a bank export, ~2,000 rows a side, with
planted cases (tests/e2e/german_erp.py).

March: upload with mapping and read options, run, confirm the short payment with a write-off in the same
decision, write off the bank fees and the duplicate posting, explain deposits in transit and outstanding
payments as reconciling items; sign-off refused while anything is open, to a maker (separation of duties) and
to an unexplained difference (a stated closing balance that does not agree), accepted otherwise; the
statement's adjusted balances agree and its hash is in the audit event. April: the reconciling items are
carried in as open records, cleared by April's bank lines (one stays outstanding, ageing from March).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from german_erp import (
    BANK_MAPPING,
    BANK_READ,
    LEDGER_MAPPING,
    LEDGER_READ,
    RULES,
    Period,
    month_end,
)

from recon.models import Project, User

API = "/api/v1"
WAIT_S = 180.0  # a deadline for jobs, not a timing assertion
PROBLEM = "https://recon.dev/problems/"


class Api:
    def __init__(self, client: TestClient, headers: Callable[[User | str], dict[str, str]]) -> None:
        self.client, self.headers = client, headers

    def call(self, user: User, method: str, path: str, expect: int | None = None, **kwargs: Any) -> Any:
        response = self.client.request(method, API + path, headers=self.headers(user), **kwargs)
        if expect is not None:
            assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response

    def json(self, user: User, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        return self.call(user, method, path, expect, **kwargs).json()

    def walk(self, user: User, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        cursor = None
        while True:
            query = {**params, "limit": 1000, **({"cursor": cursor} if cursor else {})}
            body = self.json(user, "GET", path, 200, params=query)
            yield from body["items"]
            if not (cursor := body["next_cursor"]):
                return

    def wait(self, user: User, path: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_S
        while True:
            body: dict[str, Any] = self.json(user, "GET", path, 200)
            if done(body):
                return body
            assert time.monotonic() < deadline, f"timed out waiting for {path}: {body}"
            time.sleep(0.05)


def _upload(api: Api, user: User, project: Project, name: str, data: bytes, mapping: dict, read: dict) -> str:
    dataset = api.json(
        user,
        "POST",
        f"/projects/{project.id}/datasets",
        202,
        files={"file": (name, data, "text/csv")},
        data={"mapping": json.dumps(mapping), "read_options": json.dumps(read)},
    )
    ready = api.wait(
        user, f"/projects/{project.id}/datasets/{dataset['id']}", lambda d: d["status"] in ("ready", "failed")
    )
    assert ready["status"] == "ready", ready
    assert ready["column_stats"]["amount"]["empty"] == 0, ready["column_stats"]
    return str(ready["id"])


def _refs(rows: list[dict[str, Any]]) -> list[dict[str, int]]:
    return [{"id": r["id"], "version": r["version"]} for r in rows]


def _approve_all(api: Api, checker: User, auditor: User, project: Project, run_id: str) -> None:
    pending = [
        {"id": d["id"]}
        for d in api.walk(
            auditor, f"/projects/{project.id}/decisions", status="pending_approval", run_id=run_id
        )
    ]
    for offset in range(0, len(pending), 1000):
        batch = pending[offset : offset + 1000]
        api.json(checker, "POST", f"/runs/{run_id}/bulk/approve", 200, json={"decisions": batch})


def _run(api: Api, user: User, project: Project, body: dict[str, Any]) -> dict[str, Any]:
    run = api.json(user, "POST", f"/projects/{project.id}/runs", 202, json=body)
    done = api.wait(user, f"/runs/{run['id']}", lambda r: r["status"] in ("succeeded", "failed", "cancelled"))
    assert done["status"] == "succeeded", done
    return done


def _ext(rows: list[dict[str, Any]], period: Period, *cases: str) -> list[dict[str, Any]]:
    return [r for r in rows if period.truth.get(r["ext_id"]) in cases]


def _no_wrong_pair(api: Api, user: User, run_id: str, period: Period) -> None:
    """Every engine group holds records of one planted case (no wrong pair)."""
    for group in api.walk(user, f"/runs/{run_id}/groups"):
        cases = {
            period.truth.get(m["ext_id"], m["ext_id"]).removeprefix("cleared_") for m in group["members"]
        }
        cases.discard("")
        assert len(cases) <= 2, group  # carried records keep March's case
        left = sum(Decimal(m["amount"]) for m in group["members"] if m["side"] == "left")
        right = sum(Decimal(m["amount"]) for m in group["members"] if m["side"] == "right")
        assert Decimal(group["left_total"]) == left and Decimal(group["right_total"]) == right, group


def _close(
    api: Api,
    project: Project,
    run_id: str,
    period: Period,
    people: dict[str, User],
    carried_cases: dict[str, str],
) -> None:
    """Every open record of the run decided: the suggestion confirmed with its write-off, fees and the
    duplicate written off, ledger-only items at period end explained as reconciling items."""
    preparer, approver = people["preparer"], people["approver"]
    runs = f"/runs/{run_id}"
    for group in api.walk(preparer, f"{runs}/groups", status="suggested"):
        assert group["difference"] == "2.50", group  # the short payment (Skonto)
        ref = {"group_id": group["id"], "version": group["version"]}
        refused = api.call(preparer, "POST", f"{runs}/confirm", 422, json={**ref, "comment": "Skonto"})
        assert refused.json()["errors"][0]["field"] == "body.writeoff_reason"
        decision = api.json(
            preparer,
            "POST",
            f"{runs}/confirm",
            201,
            json={**ref, "comment": "Skonto granted", "writeoff_reason": "small_difference"},
        )["decisions"][0]
        assert (decision["reason_code"], decision["difference"]) == ("small_difference", "2.50")
    left = list(api.walk(preparer, f"{runs}/unmatched", side="left"))
    right = list(api.walk(preparer, f"{runs}/unmatched", side="right"))
    fees = _ext(right, period, "fee")
    leftovers = [(r["ext_id"], r.get("reason"), r.get("state")) for r in right][:8]
    assert len(fees) == len(period.ids("fee")) and len(right) == len(fees), leftovers
    # the approver writes off the fees: a maker in this run from now on
    api.json(
        approver,
        "POST",
        f"{runs}/bulk/writeoff",
        201,
        json={"items": _refs(fees), "reason_code": "bank_fee", "comment": "account fees per statement"},
    )
    duplicates = [r for r in left if r["reason"] == "duplicate"]
    assert [period.truth[r["ext_id"]] for r in duplicates] == ["duplicate"] * len(period.ids("duplicate"))
    if duplicates:
        api.json(
            preparer,
            "POST",
            f"{runs}/bulk/writeoff",
            201,
            json={"items": _refs(duplicates), "reason_code": "other", "comment": "posted twice; reversed"},
        )
    open_left = [r for r in left if r["reason"] != "duplicate"]
    kinds = {"dit": "deposit_in_transit", "op": "outstanding_payment", "op_late": "outstanding_payment"}
    by_type: dict[str, list[dict[str, Any]]] = {}
    for record in open_left:
        case = period.truth.get(record["ext_id"]) or carried_cases.get(record["ext_id"])
        assert case in kinds, (record["ext_id"], case)
        by_type.setdefault(kinds[case], []).append(record)
    wrong = api.call(
        preparer,
        "POST",
        f"{runs}/reconciling-items",
        422,
        json={"items": _refs(open_left[:1]), "type": "bank_error", "comment": "x"},
    )
    assert "books side" in wrong.json()["errors"][0]["message"]
    for kind, records in by_type.items():
        api.json(
            preparer,
            "POST",
            f"{runs}/reconciling-items",
            201,
            json={"items": _refs(records), "type": kind, "comment": "in the books, not yet in the bank"},
        )


def _check_statement(
    statement: dict[str, Any], period: Period, opening: dict[str, str] | None
) -> dict[str, Any]:
    (section,) = statement["document"]["sections"]
    assert section["currency"] == "EUR"
    assert section["agrees"] is True and section["unexplained_difference"] == "0.00"
    bank_open = Decimal(opening["bank"]) if opening else Decimal(0)
    assert Decimal(section["bank_balance"]["period_records"]) == period.bank_total
    assert Decimal(section["books_balance"]["period_records"]) == period.ledger_total
    assert Decimal(section["balance_per_bank"]) == bank_open + period.bank_total
    assert section["adjusted_balance_per_bank"] == section["adjusted_balance_per_books"]
    assert section["open_items"] == {
        "bank": {"records": 0, "amount": "0.00"},
        "books": {"records": 0, "amount": "0.00"},
    }
    return section


@pytest.mark.timeout(900)
def test_german_erp_month_end_through_the_api(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> None:
    api = Api(client, auth_headers)
    project = make_project(settings={"require_approval": True, "separation_of_duties": True})
    people = {
        "preparer": make_user(role="preparer", project=project),
        "approver": make_user(role="approver", project=project),
        "checker": make_user(role="approver", project=project),
        "auditor": make_user(role="viewer", project=project),
    }
    preparer, approver, checker, auditor = (people[k] for k in ("preparer", "approver", "checker", "auditor"))
    march, april = month_end(rows=2000, seed=11)
    assert len(march.ledger) > 1500 and len(march.bank) > 1500

    ruleset = api.json(
        preparer, "POST", f"/projects/{project.id}/rulesets", 201, json={"name": "erp-vs-bank", "text": RULES}
    )
    ledger = _upload(
        api, preparer, project, "Buchungen_März.csv", march.csv("ledger"), LEDGER_MAPPING, LEDGER_READ
    )
    bank = _upload(api, preparer, project, "Umsätze_März.csv", march.csv("bank"), BANK_MAPPING, BANK_READ)

    # -- March --------------------------------------------------------------------------------------------
    run = _run(
        api,
        preparer,
        project,
        {
            "left_dataset_id": ledger,
            "right_dataset_id": bank,
            "ruleset_id": ruleset["id"],
            "period_start": "2025-03-01",
            "period_end": "2025-03-31",
            "bank_side": "right",
        },
    )
    runs = f"/runs/{run['id']}"
    _no_wrong_pair(api, auditor, run["id"], march)
    _close(api, project, run["id"], march, people, {})
    blocked = api.call(checker, "POST", f"{runs}/sign-off", 409, json={})
    assert blocked.json()["type"] == PROBLEM + "open-exceptions"
    _approve_all(api, checker, auditor, project, run["id"])
    assert api.json(auditor, "GET", f"{runs}/open-exceptions", 200) == {
        "unmatched_items": 0,
        "breaks": 0,
        "suggested_groups": 0,
        "pending_decisions": 0,
    }
    maker = api.call(approver, "POST", f"{runs}/sign-off", 403, json={"comment": "done"})
    assert maker.json()["type"] == PROBLEM + "separation-of-duties"

    # a stated closing balance that does not agree with the records: an unexplained difference
    stated_bank = march.bank_total + Decimal("100.00")
    api.json(
        preparer,
        "PATCH",
        f"{runs}/period",
        200,
        json={"closing_balances": {"EUR": {"bank": str(stated_bank), "books": str(march.ledger_total)}}},
    )
    differs = api.call(checker, "POST", f"{runs}/sign-off", 409, json={})
    assert differs.json()["type"] == PROBLEM + "unexplained-difference"
    assert "100.00 EUR" in differs.json()["detail"]
    api.json(
        preparer,
        "PATCH",
        f"{runs}/period",
        200,
        json={"closing_balances": {"EUR": {"bank": str(march.bank_total), "books": str(march.ledger_total)}}},
    )
    signed = api.json(checker, "POST", f"{runs}/sign-off", 200, json={"comment": "March closed"})
    statement = api.json(auditor, "GET", f"{runs}/statement", 200)
    assert statement["id"] == signed["statement"]["id"]
    section = _check_statement(statement, march, None)
    types = {(r["type"], r["side"]): r for r in section["reconciling_items"]}
    dit = sum((Decimal(a) for a in _amounts(march, "dit")), Decimal(0))
    op = sum((Decimal(a) for a in _amounts(march, "op", "op_late")), Decimal(0))
    assert Decimal(types[("deposit_in_transit", "left")]["amount"]) == dit
    assert Decimal(types[("outstanding_payment", "left")]["amount"]) == op
    assert types[("deposit_in_transit", "left")]["count"] == len(march.ids("dit"))
    fees = [a for a in section["adjustments"] if a["reason"] == "bank_fee"]
    assert fees and Decimal(fees[0]["amount"]) < 0

    # the statement's hashes are the ones the audit event pins
    sha = hashlib.sha256(
        json.dumps(statement["document"], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    assert sha == statement["sha256"]
    event = next(
        e
        for e in api.walk(auditor, f"/projects/{project.id}/audit", order="asc")
        if e["action"] == "run.signed_off"
    )
    assert event["data"]["statement_sha256"] == sha
    sheet = api.call(auditor, "GET", f"/statements/{statement['id']}/xlsx", 200)
    assert hashlib.sha256(sheet.content).hexdigest() == event["data"]["statement_xlsx_sha256"]
    assert sheet.content[:2] == b"PK"
    march_totals = event["data"]["control_totals"][0]
    assert march_totals["currency"] == "EUR"
    assert march_totals["left"]["reconciling"]["records"] == len(march.ids("dit", "op", "op_late"))

    # the groups export (German Excel) names maker, approver, comments and the write-off reason per group
    export = api.json(
        auditor,
        "POST",
        f"{runs}/exports",
        202,
        json={"what": "groups", "format": "csv", "csv": {"preset": "excel", "locale": "de-DE"}},
    )
    export = api.wait(auditor, f"/exports/{export['id']}", lambda e: e["status"] in ("succeeded", "failed"))
    assert export["status"] == "succeeded", export
    data = api.call(auditor, "GET", f"/exports/{export['id']}/download", 200).content
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    skonto = [r for r in rows if r["writeoff_reason"] == "small_difference"]
    assert skonto and all(r["maker"] == preparer.email and r["approver"] == checker.email for r in skonto)
    assert {r["decision_comment"] for r in skonto} == {"Skonto granted"}
    assert {r["difference"] for r in skonto} == {"2,50"}
    fee_rows = [r for r in rows if r["writeoff_reason"] == "bank_fee"]
    assert len(fee_rows) == len(march.ids("fee")) and {r["maker"] for r in fee_rows} == {approver.email}
    explained = [r for r in rows if r["reconciling_type"]]
    assert len(explained) == len(march.ids("dit", "op", "op_late"))
    engine_rows = [r for r in rows if r["pass"] == "exact_reference"]
    assert engine_rows and all(r["maker"] == "" for r in engine_rows)

    # -- April: the reconciling items come along -----------------------------------------------------------
    ledger_april = _upload(
        api, preparer, project, "Buchungen_April.csv", april.csv("ledger"), LEDGER_MAPPING, LEDGER_READ
    )
    bank_april = _upload(
        api, preparer, project, "Umsätze_April.csv", april.csv("bank"), BANK_MAPPING, BANK_READ
    )
    refused = api.call(
        preparer,
        "POST",
        f"/projects/{project.id}/runs",
        422,
        json={
            "left_dataset_id": ledger_april,
            "right_dataset_id": bank_april,
            "ruleset_id": ruleset["id"],
            "carry_forward_from": "no-such-run",
        },
    )
    assert refused.json()["errors"][0]["field"] == "body.carry_forward_from"
    april_run = _run(
        api,
        preparer,
        project,
        {
            "left_dataset_id": ledger_april,
            "right_dataset_id": bank_april,
            "ruleset_id": ruleset["id"],
            "period_start": "2025-04-01",
            "period_end": "2025-04-30",
            "carry_forward_from": run["id"],
        },
    )
    assert april_run["carried_from_run_id"] == run["id"] and april_run["carry_sha256"]
    assert april_run["opening_balances"] == {
        "EUR": {"bank": section["balance_per_bank"], "books": section["adjusted_balance_per_books"]}
    }
    aruns = f"/runs/{april_run['id']}"
    carried = [
        m
        for g in api.walk(auditor, f"{aruns}/groups", status="matched")
        for m in g["members"]
        if m["carried_from_id"] is not None
    ]
    cleared = {march.truth[m["ext_id"]] for m in carried}
    assert cleared == {"dit", "op"} and len(carried) == len(march.ids("dit", "op"))
    still_open = [i for i in api.walk(auditor, f"{aruns}/unmatched", side="left") if i["carried_from_id"]]
    assert [march.truth[i["ext_id"]] for i in still_open] == ["op_late"]
    late = still_open[0]
    assert late["age_days"] >= 0 and late["opened_at"] <= april_run["created_at"]
    march_late = next(
        i for g in section["reconciling_items"] for i in g["items"] if i["ext_id"] == late["ext_id"]
    )
    assert late["opened_at"][:19] == march_late["opened_at"][:19]  # ages from its first appearance
    assert late["carried_from_id"] == march_late["item_id"]

    _no_wrong_pair(api, auditor, april_run["id"], april)
    _close(api, project, april_run["id"], april, people, {late["ext_id"]: "op_late"})
    _approve_all(api, checker, auditor, project, april_run["id"])
    api.json(checker, "POST", f"{aruns}/sign-off", 200, json={"comment": "April closed"})
    april_statement = api.json(auditor, "GET", f"{aruns}/statement", 200)
    april_section = _check_statement(april_statement, april, april_run["opening_balances"]["EUR"])
    carried_in = Decimal(april_section["carried_in"]["books"])
    assert carried_in == dit + op
    assert april_section["opening_difference"] == "0.00"

    dashboard = api.json(auditor, "GET", f"/projects/{project.id}/dashboard", 200)
    latest = dashboard["runs"][0]
    assert latest["run_id"] == april_run["id"]
    assert latest["reconciling"]["left"] == len(april.ids("dit", "op", "op_late")) + 1
    assert latest["written_off"]["right"] == len(april.ids("fee"))
    assert latest["match_rate"]["overall"] < 1.0


def _amounts(period: Period, *cases: str) -> list[str]:
    """Signed ledger amounts (Soll positive) of the planted cases, as text."""
    found = []
    for row in period.ledger:
        if period.truth[row[0]] in cases:
            soll, haben = row[3], row[4]
            text = (soll or "-" + haben).replace(".", "").replace(",", ".")
            found.append(text)
    return found


_ = dt  # dates appear only as ISO text above
