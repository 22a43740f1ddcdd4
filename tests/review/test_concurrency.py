"""Concurrent edits of the same records: one wins, the other gets 409 -- never both, never a record in two
groups or two pending decisions. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from recon.auth.access import ProjectAccess
from recon.core.db import session_scope
from recon.core.errors import Conflict
from recon.models import Decision, MatchGroup, ProjectMember, RunItem
from recon.models.review import DecisionKind
from recon.review.service import ReviewService

from .conftest import Env


def _race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Start the calls together (a barrier) in threads; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.timeout(300)
def test_two_concurrent_manual_matches_of_one_record(make_env: Callable[..., Env]) -> None:
    env = make_env()
    shared = env.ref("ul1")  # both clients saw this record at this version
    first = {"items": [shared, env.ref("ur1")], "comment": "pair a"}
    second = {"items": [shared, env.ref("ur2")], "comment": "pair b", "writeoff_reason": "other"}
    a, b = _race(
        [
            lambda: env.act("preparer", "manual-match", first),
            lambda: env.act("preparer2", "manual-match", second),
        ]
    )
    assert sorted([a.status_code, b.status_code]) == [201, 409], (a.text, b.text)
    loser = a if a.status_code == 409 else b
    assert loser.json()["type"] == "https://recon.dev/problems/version-conflict"
    with session_scope(env.session_factory) as session:
        manual = session.scalar(
            select(func.count())
            .select_from(MatchGroup)
            .where(MatchGroup.run_id == env.run.run_id, MatchGroup.origin == "manual")
        )
        decisions = session.scalar(select(func.count()).select_from(Decision))
        loser_other = session.get(RunItem, env.run.items["ur2" if loser is b else "ur1"])
    assert (manual, decisions) == (1, 1)
    assert loser_other is not None and loser_other.state == "unmatched"  # the loser changed nothing


def _access(env: Env, who: str) -> ProjectAccess:
    with session_scope(env.session_factory) as session:
        member = session.scalar(
            select(ProjectMember).where(
                ProjectMember.project_id == env.project.id, ProjectMember.user_id == env.users[who].id
            )
        )
        assert member is not None
    return ProjectAccess(project=env.project, member=member, user=env.users[who])


@pytest.mark.timeout(300)
def test_overlapping_transactions_on_one_group(env: Env, db_backend: str) -> None:
    """A holds its change uncommitted while B, who saw the same version, tries: B waits for A (row lock on
    PostgreSQL, write lock on SQLite), then finds the version moved on and fails without changing anything."""
    group = env.group("sug1")
    ref = [(group.id, group.version)]
    outcome: dict[str, Any] = {}
    session_a = env.session_factory()
    try:
        ReviewService(session_a, _access(env, "preparer")).decide_groups(
            env.run.run_id, DecisionKind.CONFIRM, ref, comment=""
        )

        def contender() -> None:
            with env.session_factory() as session_b:
                try:
                    ReviewService(session_b, _access(env, "preparer2")).decide_groups(
                        env.run.run_id, DecisionKind.REJECT, ref, comment=""
                    )
                    session_b.commit()
                    outcome["b"] = "committed"
                except Conflict as exc:
                    session_b.rollback()
                    outcome["b"] = exc.type
                    outcome["detail"] = exc.detail

        thread = threading.Thread(target=contender)
        thread.start()
        time.sleep(0.5)  # let B reach the lock A holds (not an assertion: B fails either way)
        session_a.commit()
        thread.join(timeout=120)
    finally:
        session_a.close()
    assert outcome["b"] == "https://recon.dev/problems/version-conflict"
    if db_backend == "postgres":  # shared run locks: B got past its checks; the conditional UPDATE stopped it
        assert "changed while this action ran" in outcome["detail"]
    kinds = [d.kind for d in env.decisions()]
    assert kinds == ["confirm"]
    assert env.group("sug1").status == "pending_approval"


@pytest.mark.timeout(300)
def test_concurrent_approve_and_reject_of_one_decision(env: Env) -> None:
    decision = env.act("preparer", "confirm", env.group_ref("sug1")).json()["decisions"][0]
    path = f"/decisions/{decision['id']}"
    a, b = _race(
        [
            lambda: env.post("approver", f"{path}/approve", {}),
            lambda: env.post("approver2", f"{path}/reject", {"comment": "no"}),
        ]
    )
    assert sorted([a.status_code, b.status_code]) == [200, 409], (a.text, b.text)
    status = env.group("sug1").status
    assert status == ("matched" if a.status_code == 200 else "suggested")
