"""A run with results written straight into the database (no engine, no job): a small, known layout of
groups and records for review tests (also used by the authorisation matrix's decision builder).

Layout (amounts left / right):
  groups  sug1 suggested 100.00/100.00   sug2 suggested 40.00/40.00   match matched 50.00/50.00
          brk  break     200.00/195.00 (difference 5.00)
  unmatched records  ul1 left 30.00  ur1 right 30.00  ul2 left 10.00  ur2 right 12.50  ul3 left 7.00
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from recon.core.db import SessionFactory, session_scope
from recon.core.time import utcnow
from recon.models import Dataset, MatchGroup, Project, RuleSet, RuleSetVersion, Run, RunItem
from recon.runs.partitions import ensure_run_partitions

D = Decimal

GROUPS = {
    # name: (status, kind, [(item name, side, amount)])
    "sug1": ("suggested", "one_to_one", [("s1l", "left", D("100.00")), ("s1r", "right", D("100.00"))]),
    "sug2": ("suggested", "one_to_one", [("s2l", "left", D("40.00")), ("s2r", "right", D("40.00"))]),
    "match": ("matched", "one_to_one", [("m1l", "left", D("50.00")), ("m1r", "right", D("50.00"))]),
    "brk": ("break", "one_to_one", [("b1l", "left", D("200.00")), ("b1r", "right", D("195.00"))]),
}
UNMATCHED = [
    ("ul1", "left", D("30.00")),
    ("ur1", "right", D("30.00")),
    ("ul2", "left", D("10.00")),
    ("ur2", "right", D("12.50")),
    ("ul3", "left", D("7.00")),
]
ITEM_STATE = {"suggested": "suggested", "matched": "matched", "break": "break"}


@dataclass
class SyntheticRun:
    run_id: str
    project_id: str
    groups: dict[str, int] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)


def _dataset(project: Project, name: str, user_id: str | None) -> Dataset:
    sha = hashlib.sha256(f"{name}-{uuid.uuid4()}".encode()).hexdigest()
    return Dataset(
        project_id=project.id,
        name=name,
        filename=f"{name}.csv",
        format="csv",
        sha256=sha,
        size=1,
        storage_key=f"uploads/{sha}",
        status="ready",
        created_by_id=user_id,
    )


def build_run(
    session_factory: SessionFactory,
    project: Project,
    *,
    created_by: str | None = None,
    opened_days_ago: int = 0,
    created_at: dt.datetime | None = None,
    datasets: tuple[str, str] | None = None,
    status: str = "succeeded",
) -> SyntheticRun:
    """A succeeded run of `project` with the layout above; exceptions opened `opened_days_ago` days ago.
    `datasets` reuses a (left, right) pair of dataset ids (e.g. a rerun over the same files)."""
    created_by = created_by or project.created_by_id
    opened = utcnow() - dt.timedelta(days=opened_days_ago)
    with session_scope(session_factory) as session:
        if datasets is None:
            left, right = _dataset(project, "ledger", created_by), _dataset(project, "bank", created_by)
            session.add_all([left, right])
            session.flush()
            datasets = (left.id, right.id)
        ruleset = RuleSet(project_id=project.id, name=f"rules-{uuid.uuid4().hex[:8]}", latest_version=1)
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
            left_dataset_id=datasets[0],
            right_dataset_id=datasets[1],
            left_sha256="1" * 64,
            right_sha256="2" * 64,
            rules_sha256="0" * 64,
            status=status,
            created_by_id=created_by,
            progress={"phase": "done", "passes": []},
        )
        if created_at is not None:
            run.created_at = created_at
        session.add(run)
        session.flush()
        ensure_run_partitions(session, run.id)
        built = SyntheticRun(run_id=run.id, project_id=project.id)
        row_no = {"left": 0, "right": 0}
        for seq, (name, (group_status, kind, members)) in enumerate(GROUPS.items(), start=1):
            left_total = sum((a for _, s, a in members if s == "left"), D(0))
            right_total = sum((a for _, s, a in members if s == "right"), D(0))
            group = MatchGroup(
                run_id=run.id,
                seq=seq,
                pass_name="exact",
                kind=kind,
                origin="engine",
                status=group_status,
                score=0.9,
                explanation={},
                left_count=sum(1 for _, s, _ in members if s == "left"),
                right_count=sum(1 for _, s, _ in members if s == "right"),
                left_total=left_total,
                right_total=right_total,
                difference=left_total - right_total,
                opened_at=opened if group_status == "break" else None,
            )
            session.add(group)
            session.flush()
            built.groups[name] = group.id
            for item_name, side, amount in members:
                row_no[side] += 1
                item = _item(run.id, side, row_no[side], item_name, amount, ITEM_STATE[group_status])
                item.group_id = group.id
                item.opened_at = opened if group_status == "break" else None
                session.add(item)
                session.flush()
                built.items[item_name] = item.id
        for item_name, side, amount in UNMATCHED:
            row_no[side] += 1
            item = _item(run.id, side, row_no[side], item_name, amount, "unmatched")
            item.reason = "no_candidate"
            item.opened_at = opened
            session.add(item)
            session.flush()
            built.items[item_name] = item.id
    return built


def _item(run_id: str, side: str, row_no: int, ext_id: str, amount: Decimal, state: str) -> RunItem:
    return RunItem(
        run_id=run_id,
        side=side,
        row_no=row_no,
        ext_id=ext_id,
        date=dt.date(2024, 1, 31),
        amount=amount,
        currency="EUR",
        reference=f"REF-{ext_id}",
        counterparty="Acme",
        description=ext_id,
        state=state,
    )
