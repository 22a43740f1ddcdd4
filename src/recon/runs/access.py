"""Who may act on a run: the route dependencies for `/runs/{run_id}/...` (runs, results, review, exports).

The project is resolved from the run, so the usual project-role check applies (unknown run or another
tenant's -> 404, role too low -> 403); then load the run scoped to `access.project.id`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from recon.auth.access import ProjectAccess
from recon.auth.dependencies import require_project_role
from recon.models import Role
from recon.runs.repository import RunRepository


def run_project(session: Session, params: Mapping[str, str]) -> str | None:
    """The project of the addressed run (None: unknown run -> 404)."""
    return RunRepository(session).project_and_status(params["run_id"])


RunViewer = Annotated[ProjectAccess, Depends(require_project_role(Role.VIEWER, project_id_from=run_project))]
RunPreparer = Annotated[
    ProjectAccess, Depends(require_project_role(Role.PREPARER, project_id_from=run_project))
]
RunApprover = Annotated[
    ProjectAccess, Depends(require_project_role(Role.APPROVER, project_id_from=run_project))
]
