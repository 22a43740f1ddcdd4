"""Who may act on a decision or a statement: the project is resolved from the resource, so the usual
project-role check applies (unknown id or another tenant's -> 404, role too low -> 403). A run's own
dependencies (RunViewer, ...) are in recon.runs.access."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from recon.auth.access import ProjectAccess, project_of
from recon.auth.dependencies import require_project_role
from recon.models import Decision, Role, Statement

decision_project = project_of(Decision, "decision_id")
statement_project = project_of(Statement, "statement_id")


DecisionViewer = Annotated[
    ProjectAccess, Depends(require_project_role(Role.VIEWER, project_id_from=decision_project))
]
DecisionApprover = Annotated[
    ProjectAccess, Depends(require_project_role(Role.APPROVER, project_id_from=decision_project))
]
StatementViewer = Annotated[
    ProjectAccess, Depends(require_project_role(Role.VIEWER, project_id_from=statement_project))
]
