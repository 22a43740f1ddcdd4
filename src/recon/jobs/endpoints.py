"""HTTP surface of jobs: list a project's jobs, read one, cancel one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from recon.auth.dependencies import ProjectViewer
from recon.core.db import DbSession
from recon.core.pagination import Page, Pagination
from recon.core.params import ProjectId
from recon.jobs.access import JobPreparer, JobViewer
from recon.jobs.schemas import JobOut
from recon.jobs.service import JobService
from recon.models.jobs import JobStatus

router = APIRouter(tags=["jobs"])

JobId = Annotated[str, Path(description="Job id", max_length=64)]


@router.get("/projects/{project_id}/jobs", response_model=Page[JobOut])
def list_jobs(
    project_id: ProjectId,
    *,
    access: ProjectViewer,
    session: DbSession,
    page: Pagination,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this state")] = None,
    kind: Annotated[str | None, Query(max_length=100, description="Only jobs of this kind")] = None,
) -> Page[JobOut]:
    """The project's jobs, newest first (keyset paginated)."""
    jobs = JobService(session).list(access.project.id, page, status=status, kind=kind)
    return jobs.map(JobOut.model_validate)


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: JobId, access: JobViewer, session: DbSession) -> JobOut:
    """State, progress, attempts and error of a job of a project the caller belongs to."""
    return JobOut.model_validate(JobService(session).get(access.project.id, job_id))


@router.post("/jobs/{job_id}/cancel", response_model=JobOut)
def cancel_job(job_id: JobId, access: JobPreparer, session: DbSession) -> JobOut:
    """Cancel a queued job, or ask a running one to stop (it ends `cancelled` shortly). 409 when finished."""
    return JobOut.model_validate(JobService(session).cancel(access, job_id))
