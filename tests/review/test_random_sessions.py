"""Many users clicking around: a seeded random sequence of review actions (fresh and stale versions, own and
others' decisions) never breaks the invariants and never answers anything but success or a clear 4xx."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from recon.core.db import session_scope
from recon.models import MatchGroup, RunItem

from .conftest import Env

USERS = ("preparer", "preparer2", "approver", "approver2")
ALLOWED = {200, 201, 403, 409, 422}


def _state(env: Env) -> tuple[list[MatchGroup], list[RunItem]]:
    with session_scope(env.session_factory) as session:
        groups = list(session.scalars(select(MatchGroup).where(MatchGroup.run_id == env.run.run_id)))
        items = list(session.scalars(select(RunItem).where(RunItem.run_id == env.run.run_id)))
    return groups, items


def _ref(obj: Any, rng: random.Random) -> dict[str, int]:
    stale = rng.random() < 0.15
    return {"id": obj.id, "version": obj.version + (1 if stale else 0)}


def _step(env: Env, rng: random.Random) -> tuple[str, int]:
    groups, items = _state(env)
    user = rng.choice(USERS)
    unmatched = [i for i in items if i.state == "unmatched"]
    action = rng.choice(["confirm", "reject", "unmatch", "writeoff", "match", "bulk", "check", "assign"])
    if action in ("confirm", "reject", "unmatch", "writeoff"):
        group = rng.choice(groups)
        ref = _ref(group, rng)
        body: dict[str, Any] = {"group_id": ref["id"], "version": ref["version"], "comment": "c"}
        if action == "writeoff":
            body["reason_code"] = "other"
        return action, env.act(user, action, body).status_code
    if action == "match" and len(unmatched) >= 2:
        chosen = rng.sample(unmatched, rng.randint(2, min(4, len(unmatched))))
        body = {"items": [_ref(i, rng) for i in chosen], "comment": "m", "writeoff_reason": "other"}
        return action, env.act(user, "manual-match", body).status_code
    if action == "bulk":
        chosen_groups = rng.sample(groups, rng.randint(1, min(3, len(groups))))
        verb = rng.choice(["confirm", "reject", "unmatch"])
        body = {"groups": [_ref(g, rng) for g in chosen_groups], "comment": "b"}
        return f"bulk/{verb}", env.act(user, f"bulk/{verb}", body).status_code
    if action == "assign" and items:
        item = rng.choice(items)
        body = {"items": [_ref(item, rng)], "assignee_id": env.users[rng.choice(USERS)].id}
        return action, env.act(user, "assign", body).status_code
    pending = [d for d in env.decisions() if d.status == "pending_approval"]
    if not pending:
        return "noop", 200
    decision = rng.choice(pending)
    verb = rng.choice(["approve", "reject"])
    response = env.post(rng.choice(USERS), f"/decisions/{decision.id}/{verb}", {"comment": "why"})
    return verb, response.status_code


@pytest.mark.timeout(600)
@pytest.mark.parametrize("require_approval", [True, False])
def test_random_review_sessions_keep_the_invariants(
    make_env: Callable[..., Env], require_approval: bool
) -> None:
    env = make_env(require_approval=require_approval)
    rng = random.Random(20240131 + require_approval)
    seen: dict[str, set[int]] = {}
    for _ in range(150):
        action, status = _step(env, rng)
        assert status in ALLOWED, (action, status)
        seen.setdefault(action, set()).add(status)
        env.check_invariants()
    assert any(201 in codes for codes in seen.values()), seen  # the walk did change things
