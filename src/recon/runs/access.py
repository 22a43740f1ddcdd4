"""Who may act on a run: the route dependencies for `/runs/{run_id}/...` (runs, results, review, exports).

The project is resolved from the run, so the usual project-role check applies (unknown run or another
tenant's -> 404, role too low -> 403); then load the run scoped to `access.project.id`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy.orm import Session

from recon.auth.access import ProjectAccess, ResourceProject
from recon.auth.dependencies import require_project_role
from recon.models import Role
from recon.models.runs import Run
from recon.runs.repository import RunRepository


def _remember_status(session: Session, run_id: str, project_id: str, values: tuple[Any, ...]) -> None:
    RunRepository(session).remember_status(run_id, project_id, str(values[0]))


# The addressed run's project, the caller's membership and the run's status in one statement (unknown run
# -> 404); the status is kept for the results' "has it succeeded" check (RunRepository.status_in_project).
RUN = ResourceProject(Run, "run_id", (Run.status,), _remember_status)

RunViewer = Annotated[ProjectAccess, Depends(require_project_role(Role.VIEWER, resource=RUN))]
RunPreparer = Annotated[ProjectAccess, Depends(require_project_role(Role.PREPARER, resource=RUN))]
RunApprover = Annotated[ProjectAccess, Depends(require_project_role(Role.APPROVER, resource=RUN))]
