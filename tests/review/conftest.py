"""Fixtures of the review tests: a project with one user per role (two preparers and two approvers, for
maker-checker) and a synthetic run (tests/review/factory.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from recon.core.db import SessionFactory, session_scope
from recon.models import Decision, MatchGroup, Project, RunItem, User

from .factory import SyntheticRun, build_run

API = "/api/v1"
GROUP_OF_STATE = {
    "matched": "matched",
    "suggested": "suggested",
    "break": "break",
    "pending": "pending_approval",
    "reconciling": "reconciling",
}
ROLES = {
    "preparer": "preparer",
    "preparer2": "preparer",
    "approver": "approver",
    "approver2": "approver",
    "admin": "admin",
    "viewer": "viewer",
}


@dataclass
class Env:
    client: TestClient
    session_factory: SessionFactory
    project: Project
    users: dict[str, User]
    headers: Callable[[User | str], dict[str, str]]
    run: SyntheticRun

    def post(self, who: str, path: str, body: Any = None) -> Response:
        return self.client.post(
            API + path, json=body if body is not None else {}, headers=self.headers(self.users[who])
        )

    def get(self, who: str, path: str, **params: Any) -> Response:
        return self.client.get(API + path, params=params, headers=self.headers(self.users[who]))

    def act(self, who: str, action: str, body: Any, run_id: str | None = None) -> Response:
        return self.post(who, f"/runs/{run_id or self.run.run_id}/{action}", body)

    def group(self, name_or_id: str | int) -> MatchGroup:
        gid = self.run.groups[name_or_id] if isinstance(name_or_id, str) else name_or_id
        with session_scope(self.session_factory) as session:
            group = session.get(MatchGroup, gid)
            assert group is not None
            return group

    def item(self, name: str) -> RunItem:
        with session_scope(self.session_factory) as session:
            item = session.get(RunItem, self.run.items[name])
            assert item is not None
            return item

    def ref(self, name: str) -> dict[str, int]:
        """An item as the client saw it: {id, version}."""
        item = self.item(name)
        return {"id": item.id, "version": item.version}

    def group_ref(self, name: str) -> dict[str, int]:
        group = self.group(name)
        return {"group_id": group.id, "version": group.version}

    def check_invariants(self) -> None:
        """Records and groups agree: members mirror their group's status, nothing dissolved keeps members,
        counts hold, and the pending records are exactly those of the pending decisions."""
        with session_scope(self.session_factory) as session:
            run_id = self.run.run_id
            groups = {g.id: g for g in session.scalars(select(MatchGroup).where(MatchGroup.run_id == run_id))}
            items = list(session.scalars(select(RunItem).where(RunItem.run_id == run_id)))
            pending = list(
                session.scalars(
                    select(Decision).where(Decision.run_id == run_id, Decision.status == "pending_approval")
                )
            )
        members: dict[int, list[RunItem]] = {}
        for item in items:
            if item.state == "unmatched":
                assert item.group_id is None, item.id
                continue
            assert item.group_id is not None, item.id
            members.setdefault(item.group_id, []).append(item)
            assert GROUP_OF_STATE[item.state] == groups[item.group_id].status, (item.id, item.state)
        for group in groups.values():
            count = len(members.get(group.id, []))
            if group.status in ("rejected", "unmatched"):
                assert count == 0, group.id
            else:
                assert count == group.left_count + group.right_count, group.id
        held = sorted(i.id for i in items if i.state == "pending")
        assert held == sorted(i for d in pending for i in d.item_ids)
        assert len({d.group_id for d in pending}) == len(pending)

    def decisions(self) -> list[Decision]:
        with session_scope(self.session_factory) as session:
            return list(session.scalars(select(Decision).where(Decision.run_id == self.run.run_id)))


@pytest.fixture
def make_env(
    client: TestClient,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> Callable[..., Env]:
    def make(*, require_approval: bool = True, opened_days_ago: int = 0) -> Env:
        project = make_project(settings={"require_approval": require_approval})
        users = {name: make_user(role=role, project=project) for name, role in ROLES.items()}
        with session_scope(session_factory) as session:
            owner = session.get(User, project.created_by_id)
            assert owner is not None
            users["owner"] = owner
        run = build_run(session_factory, project, opened_days_ago=opened_days_ago)
        return Env(client, session_factory, project, users, auth_headers, run)

    return make


@pytest.fixture
def env(make_env: Callable[..., Env]) -> Env:
    return make_env()
