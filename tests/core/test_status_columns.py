"""Statuses and roles are enums end to end: the run, group and item status columns and a member's role
(EnumText) read back as their enum through the ORM and through Core selects, and a value outside the enum
never reaches the database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from recon.core.db import SessionFactory, session_scope
from recon.models import MatchGroup, Project, ProjectMember, Role, Run, RunItem
from recon.models.runs import GroupStatus, ItemState, RunStatus
from review.factory import build_run


def test_status_columns_read_back_as_their_enums(
    session_factory: SessionFactory, make_project: Callable[..., Project]
) -> None:
    made = build_run(session_factory, make_project())
    with session_scope(session_factory) as session:
        run = session.get(Run, made.run_id)
        assert run is not None and run.status is RunStatus.SUCCEEDED and run.status.is_final
        groups = session.scalars(select(MatchGroup).where(MatchGroup.run_id == made.run_id)).all()
        assert groups and all(isinstance(g.status, GroupStatus) for g in groups)
        states = session.scalars(select(RunItem.state).where(RunItem.run_id == made.run_id)).all()
        assert states and all(isinstance(s, ItemState) for s in states)
        # Filters bind members and plain text alike (the same stored value).
        by_member = session.scalar(select(Run.id).where(Run.status == RunStatus.SUCCEEDED))
        by_text = session.scalar(select(Run.id).where(Run.status == "succeeded"))
        assert by_member == by_text == made.run_id


def test_a_value_outside_the_enum_never_reaches_the_database(
    session_factory: SessionFactory, make_project: Callable[..., Project]
) -> None:
    made = build_run(session_factory, make_project())
    refused = pytest.raises(StatementError, match="'done' is not a valid RunStatus")
    with refused, session_scope(session_factory) as session:
        run = session.get(Run, made.run_id)
        assert run is not None
        run.status = "done"  # type: ignore[assignment]
        session.flush()
    with session_scope(session_factory) as session:
        assert session.scalar(select(Run.status).where(Run.id == made.run_id)) is RunStatus.SUCCEEDED


def test_a_members_role_is_its_enum(
    session_factory: SessionFactory, make_project: Callable[..., Project]
) -> None:
    project = make_project()
    with session_scope(session_factory) as session:
        member = session.scalar(select(ProjectMember).where(ProjectMember.project_id == project.id))
        assert member is not None and member.role is Role.OWNER
        assert session.scalar(select(ProjectMember.role).where(ProjectMember.id == member.id)) is Role.OWNER
    with (
        pytest.raises(StatementError, match="'boss' is not a valid Role"),
        session_scope(session_factory) as session,
    ):
        member = session.get(ProjectMember, member.id)
        assert member is not None
        member.role = "boss"  # type: ignore[assignment]
        session.flush()
