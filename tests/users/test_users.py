"""Users and memberships: organisation admins create or invite users with project roles (API and CLI),
invitations are redeemed once, users are deactivated and reactivated, and every change is audited."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from recon.cli import platform_cmds
from recon.config import get_settings
from recon.core.db import SessionFactory, session_scope
from recon.models import AuditEvent, Project, ProjectMember, User

API = "/api/v1"
PASSWORD = "a-long-enough-password"


def _login(client: TestClient, email: str, password: str = PASSWORD) -> int:
    return client.post(f"{API}/auth/login", json={"email": email, "password": password}).status_code


def _events(session_factory: SessionFactory, **where: str) -> list[tuple[str, dict]]:
    with session_scope(session_factory) as session:
        stmt = select(AuditEvent.action, AuditEvent.data).order_by(AuditEvent.chain, AuditEvent.seq)
        for name, value in where.items():
            stmt = stmt.where(getattr(AuditEvent, name) == value)
        return [(a, d) for a, d in session.execute(stmt).tuples()]


def test_admin_creates_a_user_with_a_project_role(
    client: TestClient,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> None:
    project = make_project()
    admin = make_user(org=project.org_id, is_superuser=True)
    body = {
        "email": "Anna.Approver@Example.com",
        "full_name": "Anna",
        "password": PASSWORD,
        "memberships": [{"project_id": project.id, "role": "approver"}],
    }
    created = client.post(f"{API}/users", json=body, headers=auth_headers(admin))
    assert created.status_code == 201, created.text
    user = created.json()
    assert (user["email"], user["is_active"], user["invited"], user["invitation"]) == (
        "anna.approver@example.com",
        True,
        False,
        None,
    )
    assert user["memberships"] == [
        {"project_id": project.id, "project_name": project.name, "role": "approver"}
    ]
    assert _login(client, "anna.approver@example.com") == 200
    members = client.get(f"{API}/projects/{project.id}/members", headers=auth_headers(admin.id))
    assert members.status_code == 404  # the org admin is not a member of the project: no back door
    owner_headers = auth_headers(project.created_by_id or "")
    listed = client.get(f"{API}/projects/{project.id}/members", headers=owner_headers).json()["items"]
    assert {m["email"]: m["role"] for m in listed}["anna.approver@example.com"] == "approver"

    assert client.post(f"{API}/users", json=body, headers=auth_headers(admin)).status_code == 409
    weak = client.post(
        f"{API}/users", json={"email": "w@example.com", "password": "short"}, headers=auth_headers(admin)
    )
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "body.password"
    foreign = make_project()
    wrong = client.post(
        f"{API}/users",
        json={"email": "x@example.com", "memberships": [{"project_id": foreign.id, "role": "viewer"}]},
        headers=auth_headers(admin),
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "body.memberships[0].project_id"

    org_events = _events(session_factory, org_id=project.org_id, entity_id=user["id"])
    assert {"user.created", "member.added"} <= {a for a, _ in org_events}
    assert _events(session_factory, chain=project.id, action="member.added")[-1][1]["role"] == "approver"


def test_only_organisation_admins_manage_users(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> None:
    project = make_project()
    owner = project.created_by_id or ""
    assert (
        client.post(f"{API}/users", json={"email": "n@example.com"}, headers=auth_headers(owner)).status_code
        == 403
    )
    assert client.get(f"{API}/users", headers=auth_headers(owner)).status_code == 403
    admin = make_user(org=project.org_id, is_superuser=True)
    other_admin = make_user(is_superuser=True)  # another organisation
    assert client.get(f"{API}/users/{owner}", headers=auth_headers(other_admin)).status_code == 404
    listed = client.get(f"{API}/users", headers=auth_headers(admin)).json()["items"]
    assert {u["id"] for u in listed} == {owner, admin.id}

    # a project admin adding an unknown email learns who can create users
    unknown = client.post(
        f"{API}/projects/{project.id}/members",
        json={"email": "nobody@example.com", "role": "viewer"},
        headers=auth_headers(owner),
    )
    assert unknown.status_code == 404 and "POST /api/v1/users" in unknown.json()["detail"]


def test_invitation_is_redeemed_once(
    client: TestClient,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> None:
    project = make_project()
    admin = make_user(org=project.org_id, is_superuser=True)
    body = {"email": "ivan@example.com", "memberships": [{"project_id": project.id, "role": "preparer"}]}
    invited = client.post(f"{API}/users", json=body, headers=auth_headers(admin)).json()
    token = invited["invitation"]["token"]
    assert token.startswith("inv_") and invited["is_active"] is False and invited["invited"] is True
    assert _login(client, "ivan@example.com") == 401

    accept = f"{API}/users/invitations/accept"
    assert client.post(accept, json={"token": token, "password": "short"}).status_code == 422
    assert client.post(accept, json={"token": "inv_wrong", "password": PASSWORD}).status_code == 400
    done = client.post(accept, json={"token": token, "password": PASSWORD})
    assert done.status_code == 200, done.text
    assert done.json()["is_active"] is True
    assert _login(client, "ivan@example.com") == 200
    again = client.post(accept, json={"token": token, "password": PASSWORD})
    assert again.status_code == 400 and again.json()["type"].endswith("invalid-invitation")
    assert (
        client.post(f"{API}/users/{invited['id']}/invitation", headers=auth_headers(admin)).status_code == 409
    )

    actions = [a for a, _ in _events(session_factory, org_id=project.org_id, entity_id=invited["id"])]
    assert "user.invited" in actions and "user.invitation_accepted" in actions
    with session_scope(session_factory) as session:
        role = session.scalar(select(ProjectMember.role).where(ProjectMember.user_id == invited["id"]))
    assert role == "preparer"


def test_deactivate_and_reactivate(
    client: TestClient,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> None:
    project = make_project()
    admin = make_user(org=project.org_id, is_superuser=True)
    worker = make_user(role="preparer", project=project)
    headers = auth_headers(worker)
    assert client.get(f"{API}/projects/{project.id}", headers=headers).status_code == 200

    user = client.get(f"{API}/users/{worker.id}", headers=auth_headers(admin)).json()
    off = client.patch(
        f"{API}/users/{worker.id}",
        json={"is_active": False, "version": user["version"]},
        headers=auth_headers(admin),
    )
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert client.get(f"{API}/projects/{project.id}", headers=headers).status_code == 401
    stale = client.patch(
        f"{API}/users/{worker.id}", json={"is_active": True, "version": 1}, headers=auth_headers(admin)
    )
    assert stale.status_code == 409
    on = client.patch(f"{API}/users/{worker.id}", json={"is_active": True}, headers=auth_headers(admin))
    assert on.status_code == 200 and on.json()["is_active"] is True
    assert client.get(f"{API}/projects/{project.id}", headers=headers).status_code == 200
    itself = client.patch(f"{API}/users/{admin.id}", json={"is_active": False}, headers=auth_headers(admin))
    assert itself.status_code == 409

    actions = [a for a, _ in _events(session_factory, org_id=project.org_id, entity_id=worker.id)]
    assert actions[-2:] == ["user.deactivated", "user.reactivated"]


def test_membership_changes_are_audited(
    client: TestClient,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> None:
    project = make_project()
    owner = auth_headers(project.created_by_id or "")
    colleague = make_user(org=project.org_id)
    url = f"{API}/projects/{project.id}/members"
    assert (
        client.post(url, json={"user_id": colleague.id, "role": "viewer"}, headers=owner).status_code == 201
    )
    assert client.patch(f"{url}/{colleague.id}", json={"role": "approver"}, headers=owner).status_code == 200
    assert client.delete(f"{url}/{colleague.id}", headers=owner).status_code == 204
    events = _events(session_factory, chain=project.id, entity_id=colleague.id)
    assert [a for a, _ in events] == ["member.added", "member.updated", "member.removed"]
    assert events[1][1] == {"role": "approver", "previous_role": "viewer"}


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_cli_creates_invites_and_deactivates(
    database_url: str,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    project = make_project()
    admin = make_user(org=project.org_id, is_superuser=True)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    cli = typer.Typer()
    platform_cmds.register(cli)
    runner = CliRunner()
    try:
        args = [
            "users",
            "create",
            "--email",
            "cli@example.com",
            "--admin",
            admin.email,
            "--project",
            project.id,
        ]
        created = runner.invoke(cli, [*args, "--role", "approver", "--password", PASSWORD])
        assert created.exit_code == 0, created.output
        invited = runner.invoke(
            cli, ["users", "create", "--email", "inv@example.com", "--admin", admin.email, "--invite"]
        )
        assert invited.exit_code == 0 and "inv_" in invited.output, invited.output
        nobody = runner.invoke(
            cli, ["users", "create", "--email", "z@example.com", "--admin", "cli@example.com", "--invite"]
        )
        assert nobody.exit_code != 0 and "not an active organisation administrator" in nobody.output
        off = runner.invoke(
            cli, ["users", "deactivate", "--email", "cli@example.com", "--admin", admin.email]
        )
        assert off.exit_code == 0, off.output
    finally:
        get_settings.cache_clear()
    with session_scope(session_factory) as session:
        user = session.scalar(select(User).where(User.email == "cli@example.com"))
        assert user is not None and user.is_active is False
        role = session.scalar(select(ProjectMember.role).where(ProjectMember.user_id == user.id))
        assert role == "approver"
    actions = [a for a, _ in _events(session_factory, org_id=project.org_id, actor_id=admin.id)]
    assert {"user.created", "user.invited", "user.deactivated", "member.added"} <= set(actions)
