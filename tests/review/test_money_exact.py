"""Property, on SQLite and PostgreSQL: every amount the API, the exports and the audit events report equals
the Decimal sum of the records it stands for, to the cent, for random money values of up to 17 significant
digits (a float holds 15-17; a SQL SUM through float would be off by whole units at these sizes).

Each example writes a run's results through the run task's bulk path (`write_results`, the SQLite text
encoding and PostgreSQL COPY), reads group totals, control totals, the statement, the dashboard and the
groups/open-items exports, then closes the run through the API (write-offs) and signs it off: the audit
event's control totals and the statement agree with the sums too.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from recon.core.db import SessionFactory, session_scope
from recon.core.time import utcnow
from recon.models import AuditEvent, Dataset, Project, RuleSet, RuleSetVersion, Run, User
from recon.runs.outcome import Outcome
from recon.runs.persist import write_results

API = "/api/v1"
CENT = Decimal("0.01")

# Cents up to 10**17: amounts with up to 17 significant digits, both signs.
cents = st.integers(min_value=-(10**17), max_value=10**17).map(lambda c: Decimal(c) * CENT)
big_cents = st.integers(min_value=10**14, max_value=10**17).map(lambda c: Decimal(c) * CENT)
amounts = st.one_of(cents, big_cents, big_cents.map(lambda d: -d))


@dataclass
class Spec:
    groups: list[tuple[str, list[Decimal], list[Decimal]]]  # (status, left amounts, right amounts)
    open_left: list[Decimal]
    open_right: list[Decimal]


specs = st.builds(
    Spec,
    groups=st.lists(
        st.tuples(
            st.sampled_from(["matched", "matched", "break"]),
            st.lists(amounts, min_size=1, max_size=3),
            st.lists(amounts, min_size=1, max_size=3),
        ),
        min_size=1,
        max_size=6,
    ),
    open_left=st.lists(amounts, max_size=3),
    open_right=st.lists(amounts, max_size=3),
)


def _outcome(spec: Spec) -> Outcome:
    """The rows the run task would persist for this layout (groups numbered 1..n, items per side)."""
    groups, items = defaultdict(list), defaultdict(list)
    row = {"left": 0, "right": 0}

    def item(side: str, amount: Decimal, state: str, seq: int | None) -> None:
        row[side] += 1
        values = {
            "side": side,
            "row_no": row[side],
            "ext_id": f"{side[0]}{row[side]}",
            "date": dt.date(2025, 3, 31),
            "amount": amount,
            "currency": "EUR",
            "reference": None,
            "counterparty": None,
            "description": None,
            "state": state,
            "reason": "no_candidate" if state == "unmatched" else None,
            "detail": None,
            "group_seq": seq,
        }
        for name, value in values.items():
            items[name].append(value)

    for seq, (status, left, right) in enumerate(spec.groups, start=1):
        difference = sum(left, Decimal(0)) - sum(right, Decimal(0))
        tolerated = status == "matched" and difference != 0
        values = {
            "seq": seq,
            "pass_name": "p",
            "kind": "many_to_many",
            "status": status,
            "score": 1.0,
            "explanation": "{}",
            "left_count": len(left),
            "right_count": len(right),
            "left_total": sum(left, Decimal(0)),
            "right_total": sum(right, Decimal(0)),
            "difference": difference,
            "writeoff_amount": difference if tolerated else None,
            "writeoff_reason": "tolerance" if tolerated else None,
            "currency": "EUR",
        }
        for name, value in values.items():
            groups[name].append(value)
        for amount in left:
            item("left", amount, status, seq)
        for amount in right:
            item("right", amount, status, seq)
    for amount in spec.open_left:
        item("left", amount, "unmatched", None)
    for amount in spec.open_right:
        item("right", amount, "unmatched", None)
    money = pa.decimal128(38, 2)
    group_types = {"left_total": money, "right_total": money, "difference": money, "writeoff_amount": money}
    group_table = pa.table({k: pa.array(v, group_types.get(k)) for k, v in groups.items()})
    item_table = pa.table({k: pa.array(v, money if k == "amount" else None) for k, v in items.items()})
    return Outcome(groups=group_table, items=item_table, digest="0" * 64)


def _run(session_factory: SessionFactory, project: Project, spec: Spec) -> str:
    with session_scope(session_factory) as session:
        datasets = []
        for side in ("ledger", "bank"):
            sha = uuid.uuid4().hex * 2
            dataset = Dataset(
                project_id=project.id,
                name=side,
                filename=f"{side}.csv",
                format="csv",
                sha256=sha,
                size=1,
                storage_key=f"uploads/{sha[:2]}/{sha}",
                status="ready",
            )
            session.add(dataset)
            datasets.append(dataset)
        ruleset = RuleSet(project_id=project.id, name=f"r-{uuid.uuid4().hex[:8]}", latest_version=1)
        session.add(ruleset)
        session.flush()
        version = RuleSetVersion(
            ruleset_id=ruleset.id, version=1, text="{}", format="json", sha256="0" * 64, rules_name="t"
        )
        session.add(version)
        session.flush()
        run = Run(
            project_id=project.id,
            ruleset_id=ruleset.id,
            ruleset_version=1,
            ruleset_version_id=version.id,
            left_dataset_id=datasets[0].id,
            right_dataset_id=datasets[1].id,
            left_sha256="1" * 64,
            right_sha256="2" * 64,
            rules_sha256="0" * 64,
            status="succeeded",
            progress={},
        )
        session.add(run)
        session.flush()
        write_results(session, run, _outcome(spec), utcnow())
        return run.id


def _total(values: list[Decimal]) -> Decimal:
    return sum(values, Decimal(0))


def _expected_categories(spec: Spec, closed: bool) -> dict[str, dict[str, Decimal]]:
    """{side: {category: sum}} of the run's records (before or after writing everything off)."""
    found: dict[str, dict[str, Decimal]] = {"left": defaultdict(Decimal), "right": defaultdict(Decimal)}
    for status, left, right in spec.groups:
        category = "matched" if status == "matched" or closed else "break"
        found["left"][category] += _total(left)
        found["right"][category] += _total(right)
    category = "written_off" if closed else "unmatched"
    found["left"][category] += _total(spec.open_left)
    found["right"][category] += _total(spec.open_right)
    return found


def _check_totals(totals: dict, expected: dict[str, dict[str, Decimal]]) -> None:
    for side in ("left", "right"):
        for category, entry in totals[side].items():
            assert Decimal(entry["amount"]) == expected[side].get(category, Decimal(0)), (
                side,
                category,
                entry,
            )


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=specs)
def test_every_reported_amount_is_the_exact_sum(
    spec: Spec,
    client: TestClient,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> None:
    project = make_project(settings={"require_approval": False})
    preparer = make_user(role="preparer", project=project)
    approver = make_user(role="approver", project=project)
    maker, checker = auth_headers(preparer), auth_headers(approver)
    run_id = _run(session_factory, project, spec)
    runs = f"{API}/runs/{run_id}"

    # groups: totals and differences are the sums of their members, exactly
    listed = client.get(f"{runs}/groups", params={"limit": 1000}, headers=maker).json()["items"]
    by_seq = {g["seq"]: g for g in listed}
    for seq, (_status, left, right) in enumerate(spec.groups, start=1):
        group = by_seq[seq]
        assert Decimal(group["left_total"]) == _total(left)
        assert Decimal(group["right_total"]) == _total(right)
        assert Decimal(group["difference"]) == _total(left) - _total(right)
        for side, expected in (("left", left), ("right", right)):
            shown = sorted(Decimal(m["amount"]) for m in group["members"] if m["side"] == side)
            assert shown == sorted(expected)
        assert all(len(m["amount"].partition(".")[2]) == 2 for m in group["members"])  # EUR: 2 digits

    # the statement (preview) and the dashboard
    statement = client.get(f"{runs}/statement", headers=maker).json()["document"]
    (section,) = statement["sections"]
    _check_totals(section["control_totals"], _expected_categories(spec, closed=False))
    every_right = _total([a for _, _, r in spec.groups for a in r]) + _total(spec.open_right)
    every_left = _total([a for _, left, _ in spec.groups for a in left]) + _total(spec.open_left)
    assert Decimal(section["balance_per_bank"]) == every_right
    assert Decimal(section["balance_per_books"]) == every_left
    dashboard = client.get(f"{API}/projects/{project.id}/dashboard", headers=maker).json()
    (amounts,) = dashboard["runs"][0]["amounts"]
    for side in ("left", "right"):
        for category, text in amounts[side].items():
            assert Decimal(text) == _expected_categories(spec, closed=False)[side][category]

    # exports: every member's amount and every group's difference as stored, exactly
    grouped = client.get(f"{runs}/export.csv", params={"what": "groups"}, headers=maker)
    rows = list(csv.DictReader(io.StringIO(grouped.text, newline="")))
    for seq, (_status, left, right) in enumerate(spec.groups, start=1):
        mine = [r for r in rows if r["group_seq"] == str(seq)]
        assert sorted(Decimal(r["amount"]) for r in mine if r["side"] == "left") == sorted(left)
        assert sorted(Decimal(r["amount"]) for r in mine if r["side"] == "right") == sorted(right)
        assert {Decimal(r["difference"]) for r in mine} == {_total(left) - _total(right)}
    opened = client.get(f"{runs}/export.csv", params={"what": "unmatched"}, headers=maker)
    open_rows = list(csv.DictReader(io.StringIO(opened.text, newline="")))
    assert sorted(Decimal(r["amount"]) for r in open_rows if r["side"] == "left") == sorted(spec.open_left)

    # close everything through the API, sign off: the audit event's totals are the sums too
    breaks = [{"id": g["id"], "version": g["version"]} for g in listed if g["status"] == "break"]
    open_items = [
        {"id": i["id"], "version": i["version"]}
        for side in ("left", "right")
        for i in client.get(f"{runs}/unmatched", params={"side": side, "limit": 1000}, headers=maker).json()[
            "items"
        ]
    ]
    if breaks or open_items:
        done = client.post(
            f"{runs}/bulk/writeoff",
            json={"groups": breaks, "items": open_items, "reason_code": "other", "comment": "property"},
            headers=maker,
        )
        assert done.status_code == 201, done.text
    signed = client.post(f"{runs}/sign-off", json={}, headers=checker)
    assert signed.status_code == 200, signed.text
    (totals,) = signed.json()["control_totals"]
    _check_totals(totals, _expected_categories(spec, closed=True))
    with session_scope(session_factory) as session:
        event = session.scalar(
            select(AuditEvent).where(AuditEvent.entity_id == run_id, AuditEvent.action == "run.signed_off")
        )
        assert event is not None
        (audited,) = event.data["control_totals"]
    _check_totals(audited, _expected_categories(spec, closed=True))
    final = client.get(f"{runs}/statement", headers=maker).json()["document"]["sections"][0]
    differences = [_total(left) - _total(right) for _status, left, right in spec.groups]
    written_off = _total(differences) + _total(spec.open_left) - _total(spec.open_right)
    assert -sum((Decimal(a["amount"]) for a in final["adjustments"]), Decimal(0)) == written_off
    assert final["unexplained_difference"] == "0.00"
