"""Who may act on a decision or a statement: the project is resolved from the resource, so the usual
project-role check applies (unknown id or another tenant's -> 404, role too low -> 403). A run's own
dependencies (RunViewer, ...) are in recon.runs.access."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from recon.auth.access import ProjectAccess
from recon.auth.dependencies import require_project_role
from recon.models import Decision, Role, Statement


def decision_project(session: Session, params: Mapping[str, str]) -> str | None:
    return session.scalar(select(Decision.project_id).where(Decision.id == params["decision_id"]))


def statement_project(session: Session, params: Mapping[str, str]) -> str | None:
    return session.scalar(select(Statement.project_id).where(Statement.id == params["statement_id"]))


DecisionViewer = Annotated[
    ProjectAccess, Depends(require_project_role(Role.VIEWER, project_id_from=decision_project))
]
DecisionApprover = Annotated[
    ProjectAccess, Depends(require_project_role(Role.APPROVER, project_id_from=decision_project))
]
StatementViewer = Annotated[
    ProjectAccess, Depends(require_project_role(Role.VIEWER, project_id_from=statement_project))
]
