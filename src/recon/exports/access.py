"""Who may read an export addressed by its id: the project is resolved from the export (unknown export or
another tenant's -> 404, role too low -> 403). Creating one is a run route (recon.runs.access)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from recon.auth.access import ProjectAccess, project_of
from recon.auth.dependencies import require_project_role
from recon.models import Role
from recon.models.exports import Export

ExportViewer = Annotated[
    ProjectAccess,
    Depends(require_project_role(Role.VIEWER, project_id_from=project_of(Export, "export_id"))),
]
