"""A run with results built directly in the database (the shape the runs task persists), for export tests."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert

from recon.core.db import SessionFactory, session_scope
from recon.core.time import utcnow
from recon.models import (
    Dataset,
    DatasetStatus,
    MatchGroup,
    Project,
    RuleSet,
    RuleSetVersion,
    Run,
    RunItem,
    RunStatus,
    User,
)
from recon.runs.partitions import ensure_run_partitions

API = "/api/v1"
WAIT_S = 120.0  # a deadline for export jobs, not a timing assertion
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Member:
    side: str
    ext_id: str
    amount: Decimal
    reference: str | None = None
    counterparty: str | None = None
    description: str | None = None
    date: dt.date | None = dt.date(2024, 1, 31)
    currency: str = "EUR"


@dataclass
class Group:
    seq: int
    status: str
    members: list[Member]
    pass_name: str | None = "exact"
    kind: str = "one_to_one"
    score: float | None = 1.0
    writeoff_amount: Decimal | None = None
    writeoff_reason: str | None = None
    opened_days_ago: int | None = None
    assignee_id: str | None = None

    @property
    def difference(self) -> Decimal:
        left = sum((m.amount for m in self.members if m.side == "left"), Decimal(0))
        right = sum((m.amount for m in self.members if m.side == "right"), Decimal(0))
        return left - right


@dataclass
class Unmatched:
    member: Member
    reason: str = "no_candidate"
    detail: str | None = None
    opened_days_ago: int | None = 3
    assignee_id: str | None = None


@dataclass
class RunSpec:
    groups: list[Group] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    status: str = RunStatus.SUCCEEDED.value


def _dataset(project: Project, user: User, side: str) -> Dataset:
    digest = hashlib.sha256(f"{project.id}-{side}-{uuid.uuid4()}".encode()).hexdigest()
    return Dataset(
        project_id=project.id,
        name=f"{side} ledger",
        filename=f"{side}.csv",
        format="csv",
        sha256=digest,
        size=1,
        storage_key=f"uploads/{digest[:2]}/{digest}",
        status=DatasetStatus.READY.value,
        created_by_id=user.id,
    )


def make_run(session_factory: SessionFactory, project: Project, user: User, spec: RunSpec) -> str:
    """Insert a run of `project` with `spec`'s groups and unmatched items; returns the run id."""
    now = utcnow()
    with session_scope(session_factory) as session:
        ruleset = RuleSet(project_id=project.id, name=f"rules-{uuid.uuid4().hex[:8]}", created_by_id=user.id)
        session.add(ruleset)
        session.flush()
        version = RuleSetVersion(
            ruleset_id=ruleset.id,
            version=1,
            text="name: t\n",
            format="yaml",
            sha256="0" * 64,
            rules_name="t",
            created_by_id=user.id,
        )
        left, right = _dataset(project, user, "left"), _dataset(project, user, "right")
        session.add_all([version, left, right])
        session.flush()
        run = Run(
            project_id=project.id,
            ruleset_id=ruleset.id,
            ruleset_version=1,
            ruleset_version_id=version.id,
            left_dataset_id=left.id,
            right_dataset_id=right.id,
            left_sha256=left.sha256,
            right_sha256=right.sha256,
            rules_sha256=version.sha256,
            status=spec.status,
            created_by_id=user.id,
        )
        session.add(run)
        session.flush()
        ensure_run_partitions(session, run.id)
        row_no = {"left": 0, "right": 0}

        def item(member: Member, **extra: Any) -> dict[str, Any]:
            row_no[member.side] += 1
            return {
                "run_id": run.id,
                "side": member.side,
                "row_no": row_no[member.side],
                "ext_id": member.ext_id,
                "date": member.date,
                "amount": member.amount,
                "currency": member.currency,
                "reference": member.reference,
                "counterparty": member.counterparty,
                "description": member.description,
                "version": 1,
                **extra,
            }

        items: list[dict[str, Any]] = []
        for group in spec.groups:
            left_total = sum((m.amount for m in group.members if m.side == "left"), Decimal(0))
            right_total = sum((m.amount for m in group.members if m.side == "right"), Decimal(0))
            row = MatchGroup(
                run_id=run.id,
                seq=group.seq,
                pass_name=group.pass_name,
                kind=group.kind,
                status=group.status,
                score=group.score,
                left_count=sum(m.side == "left" for m in group.members),
                right_count=sum(m.side == "right" for m in group.members),
                left_total=left_total,
                right_total=right_total,
                difference=group.difference,
                writeoff_amount=group.writeoff_amount,
                writeoff_reason=group.writeoff_reason,
                assignee_id=group.assignee_id,
                opened_at=None
                if group.opened_days_ago is None
                else now - dt.timedelta(days=group.opened_days_ago),
            )
            session.add(row)
            session.flush()
            state = {"matched": "matched", "suggested": "suggested", "break": "break"}.get(
                group.status, "pending"
            )
            dissolved = group.status in ("rejected", "unmatched")
            for member in group.members:
                if dissolved:
                    items.append(item(member, state="unmatched", reason="rejected_suggestion"))
                else:
                    items.append(item(member, state=state, group_id=row.id))
        for entry in spec.unmatched:
            opened = None if entry.opened_days_ago is None else now - dt.timedelta(days=entry.opened_days_ago)
            items.append(
                item(
                    entry.member,
                    state="unmatched",
                    reason=entry.reason,
                    detail=entry.detail,
                    opened_at=opened,
                    assignee_id=entry.assignee_id,
                )
            )
        for start in range(0, len(items), 5000):
            session.execute(insert(RunItem), items[start : start + 5000])
        return run.id


def bulk_unmatched(count: int, *, prefix: str = "U") -> list[Unmatched]:
    """`count` unmatched items alternating sides, amounts with cents, some negative."""
    return [
        Unmatched(
            Member(
                side="left" if i % 2 == 0 else "right",
                ext_id=f"{prefix}{i:07d}",
                amount=Decimal(i % 100_000).scaleb(-2) * (-1 if i % 3 == 0 else 1),
                reference=f"REF-{i}",
                counterparty=f"Party {i % 97}",
                description=f"line {i}",
            ),
            opened_days_ago=i % 40,
        )
        for i in range(count)
    ]


def wait_export(
    client: TestClient,
    headers: dict[str, str],
    export_id: str,
    until: tuple[str, ...] = ("succeeded", "failed"),
) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while True:
        response = client.get(f"{API}/exports/{export_id}", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in until:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"export still {body['status']} after {WAIT_S}s: {body}")
        time.sleep(0.05)


def export_and_download(
    client: TestClient, headers: dict[str, str], run_id: str, what: str, fmt: str
) -> tuple[dict[str, Any], bytes, dict[str, str]]:
    """POST the export, wait for the job, download: (export, file bytes, response headers)."""
    created = client.post(f"{API}/runs/{run_id}/exports", json={"what": what, "format": fmt}, headers=headers)
    assert created.status_code == 202, created.text
    body = wait_export(client, headers, created.json()["id"])
    assert body["status"] == "succeeded", body
    download = client.get(f"{API}/exports/{body['id']}/download", headers=headers)
    assert download.status_code == 200, download.text
    return body, download.content, dict(download.headers)


Headers = Callable[[User | str], dict[str, str]]


@dataclass
class SmallRun:
    run_id: str
    spec: RunSpec
    project: Project
    owner: User
    viewer: User
    assignee: User


def small_spec(assignee_id: str) -> RunSpec:
    """Every group status and member shape, and a dangerous text in some cells of each section."""
    return RunSpec(
        groups=[
            Group(
                1,
                "matched",
                [
                    Member("left", "L1", Decimal("100.00"), reference="INV-1", counterparty="Acme"),
                    Member("right", "R1", Decimal("100.00"), reference="INV-1", counterparty="ACME GmbH"),
                ],
            ),
            Group(
                2,
                "break",
                [
                    Member(
                        "left",
                        "L2",
                        Decimal("-25.50"),
                        reference='=HYPERLINK("http://x","y")',
                        description="+1 fee",
                    ),
                    Member("right", "R2", Decimal("-13.00"), description='bank; "quoted", comma\nnewline'),
                ],
                pass_name="amount_tolerance",
                score=0.82,
                opened_days_ago=10,
                assignee_id=assignee_id,
            ),
            Group(
                3,
                "suggested",
                [
                    Member("left", "L3", Decimal("7.25"), currency="USD", counterparty="Ünïcode Straße"),
                    Member("right", "R3", Decimal("3.25"), currency="USD"),
                    Member("right", "R4", Decimal("4.00"), currency="USD", date=None),
                ],
                pass_name="fuzzy",
                kind="one_to_many",
                score=0.64,
            ),
            Group(
                4, "rejected", [Member("left", "L5", Decimal("9.99")), Member("right", "R6", Decimal("9.99"))]
            ),
            Group(
                5,
                "matched",
                [Member("left", "L6", Decimal("50.50")), Member("right", "R7", Decimal("50.00"))],
                pass_name=None,
                kind="manual",
                score=None,
                writeoff_amount=Decimal("0.50"),
                writeoff_reason="bank_fee",
            ),
        ],
        unmatched=[
            Unmatched(
                Member(
                    "left",
                    "L4",
                    Decimal("-12.50"),
                    reference="-12.50",
                    counterparty="@risk",
                    description="\tTab",
                ),
                opened_days_ago=3,
                assignee_id=assignee_id,
            ),
            Unmatched(
                Member("right", "R5", Decimal("1234567890123.45"), reference="\rCR", description="normal"),
                reason="below_min_score",
                detail="best score 0.41",
                opened_days_ago=None,
            ),
        ],
    )


# The decision columns of a group no manual decision shaped.
NO_DECISION = dict.fromkeys(
    ("decision", "maker", "approver", "decision_comment", "approver_comment", "decided_at")
)


# -- what an export of a RunSpec must contain (written independently of recon.exports) -----------------------
def expected_sections(spec: RunSpec, emails: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Typed rows per section as make_run stored them (row numbers counted the same way); `opened_at` holds
    the days-ago number instead of a timestamp (the test compares ages)."""
    row_no = {"left": 0, "right": 0}
    groups: list[dict[str, Any]] = []
    breaks: list[dict[str, Any]] = []
    unmatched: list[tuple[str, int, dict[str, Any]]] = []
    order = 0

    def base(member: Member) -> dict[str, Any]:
        row_no[member.side] += 1
        return {
            "side": member.side,
            "row_no": row_no[member.side],
            "ext_id": member.ext_id,
            "date": member.date,
            "amount": member.amount,
            "currency": member.currency,
            "reference": member.reference,
            "counterparty": member.counterparty,
            "description": member.description,
        }

    for group in spec.groups:
        dissolved = group.status in ("rejected", "unmatched")
        members = []
        for member in group.members:
            fields = base(member)
            order += 1
            if dissolved:
                extra = {
                    "state": "unmatched",
                    "reason": "rejected_suggestion",
                    "detail": None,
                    "reconciling_type": None,
                    "carried_from_id": None,
                    "opened_at": None,
                    "age_days": None,
                }
                unmatched.append((member.side, order, {**fields, **extra, "assignee": None}))
                continue
            members.append(
                {
                    "group_seq": group.seq,
                    "pass": group.pass_name,
                    "kind": group.kind,
                    "status": group.status,
                    "score": group.score,
                    **fields,
                    "difference": group.difference,
                    "writeoff_amount": group.writeoff_amount,
                    "writeoff_reason": group.writeoff_reason,
                    "reconciling_type": None,
                    **NO_DECISION,
                }
            )
        members.sort(key=lambda r: r["side"])  # stable: insertion order inside a side
        groups.extend(members)
        if group.status == "break":
            breaks.extend(
                {
                    **m,
                    "opened_at": group.opened_days_ago,
                    "age_days": group.opened_days_ago,
                    "assignee": emails.get(group.assignee_id or ""),
                }
                for m in members
            )
    for entry in spec.unmatched:
        fields = base(entry.member)
        order += 1
        extra = {
            "state": "unmatched",
            "reason": entry.reason,
            "detail": entry.detail,
            "reconciling_type": None,
            "carried_from_id": None,
            "opened_at": entry.opened_days_ago,
            "age_days": entry.opened_days_ago,
            "assignee": emails.get(entry.assignee_id or ""),
        }
        unmatched.append((entry.member.side, order, {**fields, **extra}))
    unmatched.sort(key=lambda t: (t[0], t[1]))
    groups.sort(key=lambda r: r["group_seq"])
    return {"groups": groups, "unmatched": [row for *_, row in unmatched], "breaks": breaks}
