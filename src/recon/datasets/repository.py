"""Dataset queries, always scoped to a project (or to one dataset of it)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from recon.core.pagination import Page, PageParams, SortKey, keyset_page
from recon.core.repository import Repository
from recon.models import BankStatement, Dataset, DatasetRecord, DatasetRejection, DatasetStatus


class DatasetRepository(Repository[Dataset]):
    model = Dataset
    noun = "dataset"

    def get_for_update(self, project_id: str, dataset_id: str) -> Dataset | None:
        """The dataset with its row locked until the transaction ends (PostgreSQL; SQLite locks on write)."""
        return self.session.scalar(
            select(Dataset)
            .where(Dataset.id == dataset_id, Dataset.project_id == project_id)
            .with_for_update()
        )

    def page_in_project(
        self, project_id: str, params: PageParams, status: DatasetStatus | None = None
    ) -> Page[Dataset]:
        """Newest first."""
        stmt = select(Dataset).where(Dataset.project_id == project_id)
        if status is not None:
            stmt = stmt.where(Dataset.status == status)
        keys = [SortKey(Dataset.created_at, descending=True), SortKey(Dataset.id, descending=True)]
        return keyset_page(self.session, stmt, keys, params)

    def first_with_sha256(self, project_id: str, sha256: str) -> Dataset | None:
        return self.session.scalar(
            select(Dataset)
            .where(Dataset.project_id == project_id, Dataset.sha256 == sha256)
            .order_by(Dataset.created_at, Dataset.id)
            .limit(1)
        )

    def page_rejections(self, dataset_id: str, params: PageParams) -> Page[DatasetRejection]:
        stmt = select(DatasetRejection).where(DatasetRejection.dataset_id == dataset_id)
        return keyset_page(self.session, stmt, [SortKey(DatasetRejection.seq)], params)

    def page_records(self, dataset_id: str, params: PageParams) -> Page[DatasetRecord]:
        stmt = select(DatasetRecord).where(DatasetRecord.dataset_id == dataset_id)
        return keyset_page(self.session, stmt, [SortKey(DatasetRecord.row_no)], params)

    def page_statements(self, dataset_id: str, params: PageParams) -> Page[BankStatement]:
        stmt = select(BankStatement).where(BankStatement.dataset_id == dataset_id)
        return keyset_page(self.session, stmt, [SortKey(BankStatement.seq)], params)

    def first_records(self, dataset_id: str, limit: int) -> list[DatasetRecord]:
        stmt = (
            select(DatasetRecord)
            .where(DatasetRecord.dataset_id == dataset_id)
            .order_by(DatasetRecord.row_no)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))


def delete_rows(session: Session, dataset_id: str) -> None:
    """Delete a dataset's records and rejections (in the caller's transaction)."""
    session.execute(delete(DatasetRecord).where(DatasetRecord.dataset_id == dataset_id))
    session.execute(delete(DatasetRejection).where(DatasetRejection.dataset_id == dataset_id))
