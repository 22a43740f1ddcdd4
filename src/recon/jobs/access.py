"""Who may read or cancel a job addressed by its id: the project is resolved from the job (unknown job, a
system job or another tenant's -> 404, role too low -> 403)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from recon.auth.access import ProjectAccess, project_of
from recon.auth.dependencies import require_project_role
from recon.models import Role
from recon.models.jobs import Job

job_project = project_of(Job, "job_id")
JobViewer = Annotated[ProjectAccess, Depends(require_project_role(Role.VIEWER, project_id_from=job_project))]
JobPreparer = Annotated[
    ProjectAccess, Depends(require_project_role(Role.PREPARER, project_id_from=job_project))
]
