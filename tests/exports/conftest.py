"""Fixtures of the export tests: a project with users of each role and a small run with known results."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from export_helpers import SmallRun, make_run, small_spec

from recon.core.db import SessionFactory
from recon.models import Project, User


@pytest.fixture
def small_run(
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
) -> SmallRun:
    owner = make_user()
    project = make_project(owner=owner)
    viewer = make_user(role="viewer", project=project)
    assignee = make_user(role="preparer", project=project, email="assignee@example.com")
    spec = small_spec(assignee.id)
    run_id = make_run(session_factory, project, owner, spec)
    return SmallRun(run_id, spec, project, owner, viewer, assignee)
