"""Exports: create (a job produces the file), read, list, download, and the direct CSV of small sections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import structlog
from sqlalchemy.orm import Session

from recon.audit.service import record_entity_event
from recon.auth.access import ProjectAccess
from recon.core.errors import (
    Conflict,
    ProblemError,
    Unprocessable,
    or_404,
    problem_type,
)
from recon.core.pagination import Page, PageParams
from recon.core.time import utcnow
from recon.exports.dialect import RFC4180, CsvDialect, resolve
from recon.exports.produce import export_filename, media_type
from recon.exports.repository import ExportRepository
from recon.exports.schemas import ExportCreate
from recon.exports.sections import SECTIONS, Scope, Section
from recon.jobs import enqueue
from recon.jobs.names import EXPORT_RUN
from recon.models import Run, RunStatus
from recon.models.exports import Export, ExportFormat, ExportStatus, ExportWhat
from recon.storage import ObjectNotFound, ObjectStore

log = structlog.get_logger("recon.exports")
ENTITY = "export"


@dataclass(frozen=True)
class InlineExport:
    """A section small enough to stream as CSV inside the request."""

    section: Section
    scope: Scope
    rows: int
    filename: str
    dialect: CsvDialect = RFC4180


class ExportService:
    def __init__(self, session: Session, store: ObjectStore | None = None) -> None:
        self.session = session
        self.store = store
        self.exports = ExportRepository(session)

    # -- reads ----------------------------------------------------------------------------------------------
    def run(self, project_id: str, run_id: str) -> Run:
        return or_404(self.exports.run_in_project(project_id, run_id), "run")

    def get(self, project_id: str, export_id: str) -> Export:
        return self.exports.get_in_project_or_404(project_id, export_id)

    def list_for_run(self, project_id: str, run_id: str, params: PageParams) -> Page[Export]:
        self.run(project_id, run_id)
        return self.exports.page_for_run(run_id, params)

    # -- create ---------------------------------------------------------------------------------------------
    def create(
        self, access: ProjectAccess, run_id: str, body: ExportCreate, idempotency_key: str | None
    ) -> Export:
        """Queue an export of the run; the `export_run` job writes the file. The same Idempotency-Key (same
        user, same project) returns the export the first request created."""
        project_id, user = access.project.id, access.user
        run = self.run(project_id, run_id)
        dialect = resolve(body.csv) if body.format == ExportFormat.CSV else None
        earlier = self.exports.replayed(
            project_id,
            user.id,
            idempotency_key,
            same=lambda export: (
                (export.run_id, export.what, export.format) == (run_id, body.what, body.format)
            ),
            what="export",
        )
        if earlier is not None:
            return earlier
        check_exportable(run, body.what)
        now = utcnow()
        export = Export(
            project_id=project_id,
            run_id=run.id,
            what=body.what,
            format=body.format,
            status=ExportStatus.QUEUED,
            filename=export_filename(run.id, body.what, body.format, now),
            media_type=media_type(body.what, body.format),
            created_by_id=user.id,
            idempotency_key=idempotency_key,
            options=dialect.as_dict() if dialect else None,
            created_at=now,
            updated_at=now,
        )
        self.exports.add(export)
        job = enqueue(
            self.session, EXPORT_RUN, {"export_id": export.id}, project_id=project_id, created_by=user.id
        )
        export.job_id = job.id
        record_entity_event(
            self.session,
            ENTITY,
            export,
            "export.created",
            actor_id=user.id,
            data={"run_id": run.id, "what": export.what, "format": export.format, "job_id": job.id},
        )
        self.session.flush()
        log.info("export_created", export_id=export.id, run_id=run.id, what=export.what, format=export.format)
        return export

    # -- download -------------------------------------------------------------------------------------------
    def open_download(self, access: ProjectAccess, export_id: str) -> tuple[Export, BinaryIO]:
        """The finished export and a reader of its file; appends `export.downloaded`."""
        assert self.store is not None, "downloads need the object store"
        export = self.get(access.project.id, export_id)
        if export.status != ExportStatus.SUCCEEDED or export.storage_key is None:
            raise Conflict(
                f"the export is {export.status}; download it once its status is succeeded",
                type=problem_type("export-not-ready"),
                title="Export not ready",
            )
        try:
            reader = self.store.open(export.storage_key)
        except ObjectNotFound:
            raise ProblemError(
                "the export's file is no longer in storage; create the export again",
                status=410,
                type=problem_type("export-gone"),
                title="Export gone",
            ) from None
        try:
            record_entity_event(
                self.session,
                ENTITY,
                export,
                "export.downloaded",
                actor_id=access.user.id,
                data={
                    "run_id": export.run_id,
                    "what": export.what,
                    "format": export.format,
                    "sha256": export.sha256,
                    "size": export.size,
                    "rows": export.rows,
                },
            )
        except BaseException:
            reader.close()
            raise
        return export, reader

    def inline_csv(
        self,
        access: ProjectAccess,
        run_id: str,
        what: ExportWhat,
        max_rows: int,
        dialect: CsvDialect = RFC4180,
    ) -> InlineExport:
        """Check that one section of the run is small enough to stream without a job (else 409 naming the job
        route) and append `export.downloaded` (inline)."""
        if what == ExportWhat.ALL:
            raise Unprocessable(
                "the direct CSV holds one section; use the export job for what=all",
                errors=[{"field": "what", "message": "one of groups, unmatched, breaks, audit"}],
            )
        run = self.run(access.project.id, run_id)
        check_exportable(run, what)
        now = utcnow()
        section = SECTIONS[what]
        scope = Scope(run_id=run.id, project_id=run.project_id, as_of=now)
        rows = section.count(self.session, scope)
        if rows > max_rows:
            job_route = f"/api/v1/runs/{run.id}/exports"
            raise ProblemError(
                f"{rows} rows are more than the {max_rows} a direct CSV streams; create an export job with "
                f'POST {job_route} {{"what": "{what}", "format": "csv"}} and download it when it '
                "has succeeded",
                status=409,
                type=problem_type("export-too-large"),
                title="Export too large for a direct download",
                headers={"Link": f'<{job_route}>; rel="export-job"'},
            )
        record_entity_event(
            self.session,
            "run",
            run,
            "export.downloaded",
            actor_id=access.user.id,
            data={
                "run_id": run.id,
                "what": what,
                "format": "csv",
                "inline": True,
                "rows": rows,
                "options": dialect.as_dict(),
            },
        )
        return InlineExport(section, scope, rows, export_filename(run.id, what, "csv", now), dialect)


def check_exportable(run: Run, what: str) -> None:
    """Results exist once a run has succeeded; the audit trail can be exported at any time."""
    if what != ExportWhat.AUDIT and run.status != RunStatus.SUCCEEDED:
        raise Conflict(
            f"the run is {run.status}; its results can be exported once it has succeeded",
            type=problem_type("run-not-finished"),
            title="Run not finished",
        )
