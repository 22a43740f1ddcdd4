"""Run queries, always scoped to a project."""

from __future__ import annotations

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from recon.core.pagination import Page, PageParams, SortKey, keyset_page
from recon.core.repository import Repository
from recon.models.runs import MatchedGroupAmount, MatchGroup, Run, RunItem, RunStatus

_RUN_SEEN = "recon.runs.seen"  # session.info key: run id -> (project id, status) read this session


class RunRepository(Repository[Run]):
    model = Run
    noun = "run"

    def get_for_update(self, project_id: str, run_id: str) -> Run | None:
        return self.session.scalar(
            select(Run).where(Run.id == run_id, Run.project_id == project_id).with_for_update()
        )

    def status_in_project(self, project_id: str, run_id: str) -> str | None:
        """The run's status (None: no such run in the project), without loading the run: every results
        page checks it, and the run's summary and progress documents are not needed for that. Read once
        per session (a request's): the route's access check (`recon.runs.access`) has read it."""
        seen = self.session.info.get(_RUN_SEEN, {}).get(run_id)
        if seen is not None and seen[0] == project_id:
            return str(seen[1])
        return self.session.scalar(select(Run.status).where(Run.id == run_id, Run.project_id == project_id))

    def remember_status(self, run_id: str, project_id: str, status: str) -> None:
        """Keep a run's status read by the route's access check (`recon.runs.access`) for
        `status_in_project` in the same session: one statement fewer per results request."""
        self.session.info.setdefault(_RUN_SEEN, {})[run_id] = (project_id, status)

    def page_in_project(
        self,
        project_id: str,
        params: PageParams,
        *,
        status: RunStatus | None = None,
        ruleset_id: str | None = None,
        dataset_id: str | None = None,
    ) -> Page[Run]:
        """Newest first."""
        stmt = select(Run).where(Run.project_id == project_id)
        if status is not None:
            stmt = stmt.where(Run.status == status.value)
        if ruleset_id is not None:
            stmt = stmt.where(Run.ruleset_id == ruleset_id)
        if dataset_id is not None:
            stmt = stmt.where(or_(Run.left_dataset_id == dataset_id, Run.right_dataset_id == dataset_id))
        keys = [SortKey(Run.created_at, descending=True), SortKey(Run.id, descending=True)]
        return keyset_page(self.session, stmt, keys, params)

    def uses_dataset(self, dataset_id: str) -> Run | None:
        """The oldest run with this dataset as an input (the datasets service then refuses to delete it)."""
        return self.session.scalar(
            select(Run)
            .where(or_(Run.left_dataset_id == dataset_id, Run.right_dataset_id == dataset_id))
            .order_by(Run.created_at)
            .limit(1)
        )


# A run's result rows (an earlier attempt's, or those of a run that ended without succeeding): the
# persist and the API process, which ends runs without the data stack, delete them the same way.
def delete_results(session: Session, run_id: str) -> None:
    """Rows of an earlier attempt of the run (items first: they point at groups)."""
    delete_items(session, run_id)
    delete_groups(session, run_id)


def delete_items(session: Session, run_id: str) -> None:
    session.execute(delete(RunItem).where(RunItem.run_id == run_id))


def delete_groups(session: Session, run_id: str) -> None:
    delete_amounts(session, run_id)
    session.execute(delete(MatchGroup).where(MatchGroup.run_id == run_id))


def delete_amounts(session: Session, run_id: str) -> None:
    session.execute(delete(MatchedGroupAmount).where(MatchedGroupAmount.run_id == run_id))
