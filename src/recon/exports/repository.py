"""Export queries, always scoped to a project (or to one run of it)."""

from __future__ import annotations

from sqlalchemy import select

from recon.core.pagination import Page, PageParams, SortKey, keyset_page
from recon.core.repository import Repository
from recon.models import Run
from recon.models.exports import Export


class ExportRepository(Repository[Export]):
    model = Export
    noun = "export"

    def get_for_update(self, export_id: str) -> Export | None:
        return self.session.scalar(select(Export).where(Export.id == export_id).with_for_update())

    def page_for_run(self, run_id: str, params: PageParams) -> Page[Export]:
        """Newest first."""
        stmt = select(Export).where(Export.run_id == run_id)
        keys = [SortKey(Export.created_at, descending=True), SortKey(Export.id, descending=True)]
        return keyset_page(self.session, stmt, keys, params)

    def run_in_project(self, project_id: str, run_id: str) -> Run | None:
        return self.session.scalar(select(Run).where(Run.id == run_id, Run.project_id == project_id))
