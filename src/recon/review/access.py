"""Who may act on a run or a decision: the project is resolved from the resource, so the usual project-role
check applies (unknown id or another tenant's -> 404, role too low -> 403)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from recon.auth.dependencies import ProjectAccess, require_project_role
from recon.models import Decision, Role, Run


def run_project(session: Session, params: Mapping[str, str]) -> str | None:
    return session.scalar(select(Run.project_id).where(Run.id == params["run_id"]))


def decision_project(session: Session, params: Mapping[str, str]) -> str | None:
    return session.scalar(select(Decision.project_id).where(Decision.id == params["decision_id"]))


RunViewer = Annotated[ProjectAccess, Depends(require_project_role(Role.VIEWER, project_id_from=run_project))]
RunPreparer = Annotated[
    ProjectAccess, Depends(require_project_role(Role.PREPARER, project_id_from=run_project))
]
RunApprover = Annotated[
    ProjectAccess, Depends(require_project_role(Role.APPROVER, project_id_from=run_project))
]
RunAdmin = Annotated[ProjectAccess, Depends(require_project_role(Role.ADMIN, project_id_from=run_project))]
DecisionViewer = Annotated[
    ProjectAccess, Depends(require_project_role(Role.VIEWER, project_id_from=decision_project))
]
DecisionApprover = Annotated[
    ProjectAccess, Depends(require_project_role(Role.APPROVER, project_id_from=decision_project))
]
