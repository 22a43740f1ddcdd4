"""Job queries for the API (always scoped to a project)."""

from __future__ import annotations

from sqlalchemy import select

from recon.core.pagination import Page, PageParams, SortKey, keyset_page
from recon.core.repository import Repository, where_given
from recon.models.jobs import Job, JobStatus


class JobRepository(Repository[Job]):
    model = Job
    noun = "job"

    def page_in_project(
        self, project_id: str, params: PageParams, *, status: JobStatus | None = None, kind: str | None = None
    ) -> Page[Job]:
        """The project's jobs, newest first."""
        stmt = where_given(
            select(Job).where(Job.project_id == project_id), (Job.status, status), (Job.kind, kind)
        )
        keys = [SortKey(Job.created_at, descending=True), SortKey(Job.id, descending=True)]
        return keyset_page(self.session, stmt, keys, params)
