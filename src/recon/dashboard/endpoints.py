"""HTTP surface of the dashboard."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from recon.auth.dependencies import ProjectViewer
from recon.core.db import DbSession
from recon.core.params import ProjectId
from recon.dashboard.schemas import Dashboard
from recon.dashboard.service import build_dashboard

router = APIRouter(prefix="/projects", tags=["dashboard"])


@router.get("/{project_id}/dashboard", response_model=Dashboard)
def get_dashboard(
    project_id: ProjectId,
    access: ProjectViewer,
    session: DbSession,
    runs: Annotated[int, Query(ge=1, le=100, description="How many recent succeeded runs")] = 10,
) -> Dashboard:
    """Match rate per recent run, open exceptions (latest run of each dataset pair) by age bucket and owner,
    and the trend over those runs."""
    return build_dashboard(session, access.project.id, runs)
