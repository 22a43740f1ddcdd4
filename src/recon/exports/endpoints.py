"""HTTP surface of exports: create (job), list, read, download, and the direct CSV of a small section."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from recon.auth.dependencies import AppSettings
from recon.core.db import DbSession, SessionFactory, get_session_factory, session_scope
from recon.core.errors import FieldError, Unprocessable, fields_under
from recon.core.pagination import Page, Pagination
from recon.core.params import ResourceId
from recon.exports.access import ExportViewer
from recon.exports.dialect import CsvOptions, Preset, resolve
from recon.exports.produce import read_snapshot
from recon.exports.schemas import ExportCreate, ExportOut
from recon.exports.service import ExportService, InlineExport
from recon.exports.writers import MEDIA_TYPES, csv_chunks
from recon.models.exports import Export, ExportWhat
from recon.runs.access import RunViewer
from recon.storage import get_store
from recon.storage.base import iter_chunks_then_close

router = APIRouter(tags=["exports"])


def _attachment(filename: str) -> dict[str, str]:
    # Export file names are ASCII by construction (run id, section, timestamp).
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


@router.post("/runs/{run_id}/exports", status_code=status.HTTP_202_ACCEPTED, response_model=ExportOut)
def create_export(
    run_id: ResourceId,
    body: ExportCreate,
    access: RunViewer,
    session: DbSession,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Export:
    """Queue an export of the run (viewers may export: auditors do). Poll `GET /exports/{id}` until `status`
    is `succeeded`, then download. 409 while the run has not succeeded (except `what=audit`)."""
    return ExportService(session).create(access, run_id, body, idempotency_key or None)


@router.get("/runs/{run_id}/exports", response_model=Page[ExportOut])
def list_exports(
    run_id: ResourceId, access: RunViewer, session: DbSession, page: Pagination
) -> Page[ExportOut]:
    """The run's exports, newest first (keyset paginated)."""
    exports = ExportService(session).list_for_run(access.project.id, run_id, page)
    return exports.map(ExportOut.model_validate)


@router.get(
    "/runs/{run_id}/export.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The section as CSV, generated while sent"}},
)
def stream_csv(
    *,
    run_id: ResourceId,
    access: RunViewer,
    session: DbSession,
    settings: AppSettings,
    request: Request,
    what: Annotated[ExportWhat, Query(description="groups, unmatched, breaks or audit (one section)")],
    preset: Annotated[Preset | None, Query(description='"excel" (with locale) or "rfc4180"')] = None,
    locale: Annotated[str | None, Query(max_length=35, description="e.g. de-DE (preset excel)")] = None,
    delimiter: Annotated[Literal[",", ";", "\t", "|"] | None, Query()] = None,
    decimal_separator: Annotated[Literal[".", ","] | None, Query()] = None,
    bom: Annotated[bool | None, Query(description="Start with a UTF-8 byte-order mark")] = None,
) -> StreamingResponse:
    """One section as CSV straight from the database, without a job, up to `EXPORT_INLINE_MAX_ROWS` rows
    (default 100,000); a larger section is 409 `export-too-large` naming the job route. The dialect
    parameters are those of `csv` in the export job (e.g. `?preset=excel&locale=de-DE`)."""
    try:
        options = CsvOptions(
            preset=preset, locale=locale, delimiter=delimiter, decimal_separator=decimal_separator, bom=bom
        )
    except ValidationError as exc:
        raise Unprocessable(
            "invalid CSV options",
            errors=[
                FieldError(field=f"query.{'.'.join(map(str, e['loc'])) or 'locale'}", message=e["msg"])
                for e in exc.errors()
            ],
        ) from None
    dialect = resolve(options, where="query")
    with fields_under("query"):
        inline = ExportService(session).inline_csv(
            access, run_id, what, settings.export_inline_max_rows, dialect
        )
    factory = get_session_factory(request)
    return StreamingResponse(
        _inline_chunks(factory, inline), media_type=MEDIA_TYPES["csv"], headers=_attachment(inline.filename)
    )


def _inline_chunks(factory: SessionFactory, inline: InlineExport) -> Iterator[bytes]:
    # The response outlives the request's session: read in a session (and snapshot) of its own.
    with session_scope(factory) as session:
        read_snapshot(session)
        yield from csv_chunks(
            inline.section.columns, inline.section.rows(session, inline.scope), inline.dialect
        )


@router.get("/exports/{export_id}", response_model=ExportOut)
def get_export(export_id: ResourceId, access: ExportViewer, session: DbSession) -> Export:
    """Status, size, sha256 and rows of an export."""
    return ExportService(session).get(access.project.id, export_id)


@router.get(
    "/exports/{export_id}/download",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {media: {} for media in [*MEDIA_TYPES.values(), "application/zip"]},
            "description": "The export file, streamed from object storage",
        }
    },
)
def download_export(
    export_id: ResourceId, access: ExportViewer, session: DbSession, settings: AppSettings
) -> StreamingResponse:
    """The file of a succeeded export (409 `export-not-ready` before). `ETag` is its sha256."""
    export, reader = ExportService(session, get_store(settings)).open_download(access, export_id)
    headers = {**_attachment(export.filename), "ETag": f'"{export.sha256}"'}
    if export.size is not None:
        headers["Content-Length"] = str(export.size)
    return StreamingResponse(iter_chunks_then_close(reader), media_type=export.media_type, headers=headers)
