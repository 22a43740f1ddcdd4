"""HTTP surface of datasets: upload, mapping, status, rejections, preview, records, delete."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Query, Response, UploadFile, status

from recon.auth.dependencies import AppSettings, ProjectPreparer, ProjectViewer
from recon.core.db import DbSession
from recon.core.errors import FieldError, Unprocessable
from recon.core.pagination import Page, Pagination
from recon.core.params import ProjectId, ResourceId
from recon.core.text_guard import loads_bounded, text_problem
from recon.datasets.schemas import (
    DatasetAccepted,
    DatasetOut,
    MappingPreviewIn,
    MappingPreviewOut,
    MappingUpdate,
    PreviewOut,
    RecordOut,
    RejectionOut,
    StatementOut,
)
from recon.datasets.service import Accepted, DatasetService, Upload
from recon.models import Dataset, DatasetStatus
from recon.storage import get_store

router = APIRouter(prefix="/projects/{project_id}/datasets", tags=["datasets"])


MAX_JSON_FIELD_CHARS = 64 * 1024
# Mapping and read options are flat objects; deeper nesting is refused before anything walks it.
MAX_JSON_FIELD_DEPTH = 8


def _text_field(raw: str | None, field: str, *, nul_is_dropped: bool = False) -> str | None:
    """A form field as text; NUL and lone surrogates are refused (422) before they reach SQL. Names and file
    names may carry NUL: the service drops it (harmless there)."""
    checked = raw.replace("\x00", "") if raw is not None and nul_is_dropped else raw
    problem = None if checked is None else text_problem(checked)
    if problem is not None:
        error = FieldError(field=f"body.{field}", message=problem)
        raise Unprocessable(f"{field}: {problem}", errors=[error])
    return raw


def _json_field(raw: str | None, field: str) -> Any:
    raw = _text_field(raw, field)
    if raw is None or not raw.strip():
        return None
    try:
        document, problem = loads_bounded(raw, f"body.{field}", MAX_JSON_FIELD_DEPTH)
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} at position {exc.pos}"
        raise Unprocessable(
            f"{field}: {message}", errors=[FieldError(field=f"body.{field}", message=message)]
        ) from None
    if problem is not None:
        raise Unprocessable(f"{problem.field}: {problem.message}", errors=[problem])
    return document


def _accepted(result: Accepted) -> DatasetAccepted:
    fields = DatasetOut.model_validate(result.dataset).model_dump()
    return DatasetAccepted.model_validate({**fields, "warnings": result.warnings})


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=DatasetAccepted)
def upload_dataset(
    *,
    project_id: ProjectId,
    access: ProjectPreparer,
    session: DbSession,
    settings: AppSettings,
    file: Annotated[
        UploadFile,
        File(
            description="The data file: CSV, XLSX, Parquet, JSON, or a bank statement (MT940/MT950, "
            "CAMT.052/053/054, BAI2, OFX/QFX: recognised from the content, no mapping needed)"
        ),
    ],
    name: Annotated[str | None, Form(max_length=200)] = None,
    mapping: Annotated[
        str | None, Form(max_length=MAX_JSON_FIELD_CHARS, description='JSON {"canonical field": "column"}')
    ] = None,
    read_options: Annotated[
        str | None, Form(max_length=MAX_JSON_FIELD_CHARS, description="JSON read options (delimiter, ...)")
    ] = None,
    reject_duplicates: Annotated[
        bool, Query(description="409 instead of a warning when this project already has the same file")
    ] = False,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> DatasetAccepted:
    """Upload a file (multipart field `file`). It is stored byte for byte (sha256), then ingested by a job:
    poll `GET .../datasets/{id}` until `status` is `ready` or `failed`. The same file uploaded again is
    accepted with `duplicate_of` and a warning (or 409 with `?reject_duplicates=true`)."""
    upload = Upload(
        stream=file.file,
        filename=_text_field(file.filename, "file.filename", nul_is_dropped=True) or "upload",
        name=_text_field(name, "name", nul_is_dropped=True),
        mapping=_json_field(mapping, "mapping"),
        read_options=_json_field(read_options, "read_options"),
        idempotency_key=idempotency_key or None,
        reject_duplicates=reject_duplicates,
    )
    service = DatasetService(session, get_store(settings))
    return _accepted(service.upload(access, upload, max_bytes=settings.upload_max_bytes))


@router.get("", response_model=Page[DatasetOut])
def list_datasets(
    project_id: ProjectId,
    access: ProjectViewer,
    session: DbSession,
    page: Pagination,
    status: Annotated[DatasetStatus | None, Query(description="Only datasets in this status")] = None,
) -> Page[DatasetOut]:
    """Datasets of the project, newest first (keyset paginated)."""
    return DatasetService(session).list(access.project.id, page, status).map(DatasetOut.model_validate)


@router.get("/{dataset_id}", response_model=DatasetOut)
def get_dataset(
    project_id: ProjectId, dataset_id: ResourceId, access: ProjectViewer, session: DbSession
) -> Dataset:
    return DatasetService(session).get(access.project.id, dataset_id)


@router.put("/{dataset_id}/mapping", status_code=status.HTTP_202_ACCEPTED, response_model=DatasetAccepted)
def update_mapping(
    project_id: ProjectId,
    dataset_id: ResourceId,
    body: MappingUpdate,
    access: ProjectPreparer,
    session: DbSession,
) -> DatasetAccepted:
    """Re-map the columns (and optionally change the read options); the records are rebuilt by a new job.
    The current records stay visible until the new ones replace them in one transaction."""
    dataset = DatasetService(session).remap(access, dataset_id, body.mapping, body.read_options, body.version)
    return _accepted(Accepted(dataset))


@router.post("/{dataset_id}/mapping/preview", response_model=MappingPreviewOut)
def preview_mapping(
    *,
    project_id: ProjectId,
    dataset_id: ResourceId,
    body: MappingPreviewIn,
    access: ProjectPreparer,
    session: DbSession,
    settings: AppSettings,
) -> MappingPreviewOut:
    """Try a mapping (and read options) on the first rows of the stored CSV file before saving it: the records
    it would give, the rows it would reject and why, and the types detected. Nothing is saved."""
    service = DatasetService(session, get_store(settings))
    return service.preview_mapping(access, dataset_id, body, settings)


@router.get("/{dataset_id}/rejections", response_model=Page[RejectionOut])
def list_rejections(
    project_id: ProjectId, dataset_id: ResourceId, access: ProjectViewer, session: DbSession, page: Pagination
) -> Page[RejectionOut]:
    """Problems of the rejected rows, in file order: row, line, column, value, reason."""
    return DatasetService(session).rejections(access.project.id, dataset_id, page)


@router.get("/{dataset_id}/statements", response_model=Page[StatementOut])
def list_statements(
    project_id: ProjectId, dataset_id: ResourceId, access: ProjectViewer, session: DbSession, page: Pagination
) -> Page[StatementOut]:
    """Bank statement files (MT940, CAMT, BAI2, OFX): their statements in file order, with the balances and
    entry counts checked at ingestion. Empty for other formats."""
    return DatasetService(session).statements(access.project.id, dataset_id, page)


@router.get("/{dataset_id}/preview", response_model=PreviewOut)
def preview_dataset(
    project_id: ProjectId,
    dataset_id: ResourceId,
    access: ProjectViewer,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=200, description="Number of records")] = 20,
) -> PreviewOut:
    """The first records (canonical fields and extra columns)."""
    return DatasetService(session).preview(access.project.id, dataset_id, limit)


@router.get("/{dataset_id}/records", response_model=Page[RecordOut])
def list_records(
    project_id: ProjectId, dataset_id: ResourceId, access: ProjectViewer, session: DbSession, page: Pagination
) -> Page[RecordOut]:
    """All records in file order (keyset paginated by row)."""
    return DatasetService(session).records(access.project.id, dataset_id, page)


@router.delete("/{dataset_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_dataset(
    project_id: ProjectId,
    dataset_id: ResourceId,
    access: ProjectPreparer,
    session: DbSession,
    settings: AppSettings,
) -> None:
    """Delete the dataset and its records (409 while a run uses it). The stored file is kept as evidence."""
    DatasetService(session, get_store(settings)).delete(access, dataset_id)
