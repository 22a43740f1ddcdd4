"""Reading and cancelling jobs on behalf of a project member."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from recon.audit.service import record_event
from recon.auth.access import ProjectAccess
from recon.core.errors import Conflict
from recon.core.pagination import Page, PageParams
from recon.core.repository import updated_rows
from recon.core.time import utcnow
from recon.jobs.registry import get_task
from recon.jobs.repository import JobRepository
from recon.models.jobs import Job, JobStatus


class JobService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repo = JobRepository(session)

    def list(
        self, project_id: str, params: PageParams, *, status: JobStatus | None, kind: str | None
    ) -> Page[Job]:
        return self.repo.page_in_project(project_id, params, status=status, kind=kind)

    def get(self, project_id: str, job_id: str) -> Job:
        return self.repo.get_in_project_or_404(project_id, job_id)

    def cancel(self, access: ProjectAccess, job_id: str) -> Job:
        """A queued job is cancelled at once; a running one is asked to stop (it sees check_cancelled())
        and ends `cancelled`. Conditional updates: a worker leasing the job at the same moment cannot be
        overwritten. A finished job answers 409."""
        project_id = access.project.id
        job = self.get(project_id, job_id)
        scoped = update(Job).where(Job.id == job.id, Job.project_id == project_id)
        now = utcnow()
        cancelled = updated_rows(
            self.session,
            scoped.where(Job.status == JobStatus.QUEUED).values(
                status=JobStatus.CANCELLED,
                cancel_requested=True,
                finished_at=now,
                message="cancelled before it started",
            ),
        )
        requested = 0
        if not cancelled:
            requested = updated_rows(
                self.session,
                scoped.where(Job.status == JobStatus.RUNNING, Job.cancel_requested.is_(False)).values(
                    cancel_requested=True, message="cancellation requested"
                ),
            )
        job = self.session.get(Job, job.id, populate_existing=True) or job
        if not cancelled and not requested:
            if job.status == JobStatus.RUNNING:
                return job  # already asked to stop: nothing changes, nothing to audit
            raise Conflict(
                f"job {job.id} is already {job.status}; only queued or running jobs can be cancelled"
            )
        if cancelled:
            spec = get_task(job.kind)
            if spec is not None and spec.on_cancel is not None:
                spec.on_cancel(self.session, job)
        record_event(
            self.session,
            action="job.cancelled" if cancelled else "job.cancel_requested",
            actor_id=access.user.id,
            project_id=project_id,
            entity_type="job",
            entity_id=job.id,
            data={"kind": job.kind, "attempts": job.attempts},
        )
        return job
