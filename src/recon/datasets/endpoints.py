"""HTTP surface of datasets: upload, mapping, status, rejections, preview, records, delete."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, HTTPException, Query, Request, Response, UploadFile, status
from fastapi.routing import APIRoute

from recon.auth.dependencies import AppSettings, ProjectPreparer, ProjectViewer
from recon.core.db import DbSession
from recon.core.errors import FieldError, Unprocessable
from recon.core.pagination import Page, Pagination
from recon.core.params import ProjectId, ResourceId
from recon.datasets.schemas import (
    DatasetAccepted,
    DatasetOut,
    MappingUpdate,
    PreviewOut,
    RecordOut,
    RejectionOut,
)
from recon.datasets.service import Accepted, DatasetService, Upload
from recon.models import Dataset, DatasetStatus
from recon.storage import get_store

# Room for the multipart framing and the small form fields on top of UPLOAD_MAX_BYTES.
MULTIPART_OVERHEAD_BYTES = 1024 * 1024
MAX_JSON_FIELD_CHARS = 64 * 1024


class UploadLimitRoute(APIRoute):
    """Refuses a request body beyond UPLOAD_MAX_BYTES (+ multipart overhead) while it is being received:
    at once from Content-Length, else as soon as the streamed bytes pass the limit. The exact file limit is
    enforced by the store while it streams the file (nothing stored past it)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            max_file = request.app.state.settings.upload_max_bytes
            limit = max_file + MULTIPART_OVERHEAD_BYTES
            too_large = HTTPException(413, detail=f"the upload exceeds the limit of {max_file} bytes")
            declared = request.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise too_large
            receive, received = request.receive, 0

            async def receive_limited() -> Any:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise too_large
                return message

            return await handler(Request(request.scope, receive_limited))

        return limited


router = APIRouter(prefix="/projects/{project_id}/datasets", tags=["datasets"], route_class=UploadLimitRoute)


def _json_field(raw: str | None, field: str) -> Any:
    if raw is None or not raw.strip():
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} at position {exc.pos}"
        raise Unprocessable(
            f"{field}: {message}", errors=[FieldError(field=f"body.{field}", message=message)]
        ) from None


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
    file: Annotated[UploadFile, File(description="The data file: CSV, XLSX, Parquet or JSON")],
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
        filename=file.filename or "upload",
        name=name,
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


@router.get("/{dataset_id}/rejections", response_model=Page[RejectionOut])
def list_rejections(
    project_id: ProjectId, dataset_id: ResourceId, access: ProjectViewer, session: DbSession, page: Pagination
) -> Page[RejectionOut]:
    """Problems of the rejected rows, in file order: row, line, column, value, reason."""
    return DatasetService(session).rejections(access.project.id, dataset_id, page)


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
    project_id: ProjectId, dataset_id: ResourceId, access: ProjectPreparer, session: DbSession
) -> None:
    """Delete the dataset and its records (409 while a run uses it). The stored file is kept as evidence."""
    DatasetService(session).delete(access, dataset_id)
