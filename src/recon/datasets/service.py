"""Datasets: upload (stream to storage, sniff, detect re-imports), mapping, listing, deletion. No HTTP, no
commits; ingestion itself runs as the `ingest_dataset` job (recon.datasets.tasks), always."""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, BinaryIO

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from recon.audit.service import record_entity_event
from recon.auth.access import ProjectAccess
from recon.config import Settings
from recon.core.errors import (
    Conflict,
    FieldError,
    ProblemError,
    Unprocessable,
    or_404,
    problem_type,
)
from recon.core.money import render_amount
from recon.core.pagination import Page, PageParams
from recon.core.repository import check_version
from recon.core.responses import response_of
from recon.datasets.limits import bounded
from recon.datasets.mapping import CANONICAL_FIELDS, MappingError, validate_mapping
from recon.datasets.records_file import delete_records_files
from recon.datasets.repository import DatasetRepository, delete_rows
from recon.datasets.schemas import (
    MappingPreviewIn,
    MappingPreviewOut,
    PreviewOut,
    RecordOut,
    RejectionOut,
    StatementOut,
)
from recon.datasets.sniff import SNIFF_BYTES, sniff_format
from recon.ingest import IngestError, ReadOptions
from recon.jobs import enqueue
from recon.jobs.names import INGEST_DATASET
from recon.models import Dataset, DatasetRecord, DatasetRejection, DatasetStatus, OpenItemBook, Schedule
from recon.runs.repository import RunRepository
from recon.storage import ObjectStore
from recon.storage.base import HashingLimiter, ObjectNotFound, iter_chunks

if TYPE_CHECKING:
    from recon.datasets.parsing import ParsedDataset

log = structlog.get_logger("recon.datasets")

ENTITY = "dataset"


@dataclass(frozen=True)
class Upload:
    stream: BinaryIO  # seekable (the request's spooled file)
    filename: str
    name: str | None = None
    mapping: Any = None  # parsed JSON, validated here
    read_options: Any = None
    idempotency_key: str | None = None
    reject_duplicates: bool = False


@dataclass
class Accepted:
    dataset: Dataset
    warnings: list[str] = field(default_factory=list)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def _refuse_nul(value: Any, where: str) -> None:
    # PostgreSQL text and JSONB cannot hold NUL characters; say so instead of failing in the database.
    if _has_nul(value):
        message = "must not contain NUL (\\u0000) characters"
        raise Unprocessable(f"{where}: {message}", errors=[FieldError(field=where, message=message)])


def check_mapping(value: Any, where: str = "mapping") -> dict[str, str] | None:
    try:
        checked = validate_mapping(value, where)
    except MappingError as exc:
        raise Unprocessable(str(exc), errors=[FieldError(field=exc.field, message=exc.message)]) from None
    _refuse_nul(checked, where)
    return checked or None


def check_read_options(value: Any, where: str = "read_options") -> dict[str, Any] | None:
    if value is None:
        return None
    _refuse_nul(value, where)
    try:
        ReadOptions.from_mapping(value, where=where)
    except IngestError as exc:
        raise Unprocessable(str(exc), errors=[FieldError(field=where, message=str(exc))]) from None
    return dict(value)


def _clean_filename(raw: str) -> str:
    name = PurePath(raw.replace("\\", "/").replace("\x00", "")).name.strip() or "upload"
    return name[:500]


REPLAYED = "repeated request (same Idempotency-Key): this is the dataset the first request created"


class DatasetService:
    def __init__(self, session: Session, store: ObjectStore | None = None) -> None:
        self.session = session
        self.store = store
        self.datasets = DatasetRepository(session)

    # -- upload ---------------------------------------------------------------------------------------------
    def upload(self, access: ProjectAccess, upload: Upload, *, max_bytes: int) -> Accepted:
        """Store the file, create the dataset (pending) and enqueue its ingestion (runs after commit)."""
        assert self.store is not None
        mapping = check_mapping(upload.mapping)
        read_options = check_read_options(upload.read_options)
        project_id, user = access.project.id, access.user
        # The same Idempotency-Key from the same user: the same dataset again, provided it is the same file.
        earlier = self.datasets.replayed(
            project_id,
            user.id,
            upload.idempotency_key,
            same=lambda dataset: _sha256_of(upload.stream, max_bytes) == dataset.sha256,
            what="file",
        )
        if earlier is not None:
            return Accepted(earlier, [REPLAYED])
        filename = _clean_filename(upload.filename)
        head = upload.stream.read(SNIFF_BYTES)
        upload.stream.seek(0)
        fmt = sniff_format(head, filename)
        stored = self.store.put_stream(upload.stream, max_bytes=max_bytes)  # UploadTooLarge -> 413
        warnings: list[str] = []
        earlier = self.datasets.first_with_sha256(project_id, stored.sha256)
        if earlier is not None:
            message = (
                f"the same file (sha256 {stored.sha256[:12]}...) was already uploaded as dataset "
                f"{earlier.name!r} ({earlier.id}) on {earlier.created_at:%Y-%m-%d %H:%M} UTC"
            )
            if upload.reject_duplicates:
                raise ProblemError(
                    message, status=409, type=problem_type("duplicate-file"), title="Duplicate file"
                )
            warnings.append(message)
        dataset = self.datasets.add(
            Dataset(
                project_id=project_id,
                name=(upload.name or "").replace("\x00", "").strip()[:200] or filename[:200],
                filename=filename,
                format=fmt,
                sha256=stored.sha256,
                size=stored.size,
                storage_key=stored.key,
                status=DatasetStatus.PENDING,
                mapping=mapping,
                read_options=read_options,
                duplicate_of=earlier.id if earlier is not None else None,
                idempotency_key=upload.idempotency_key,
                created_by_id=user.id,
            )
        )
        self._enqueue_ingestion(dataset, user.id)
        record_entity_event(
            self.session,
            ENTITY,
            dataset,
            "dataset.uploaded",
            actor_id=user.id,
            data={
                "name": dataset.name,
                "filename": filename,
                "sha256": stored.sha256,
                "size": stored.size,
                "format": fmt,
                "duplicate_of": dataset.duplicate_of,
            },
        )
        log.info("dataset_uploaded", dataset_id=dataset.id, size=stored.size, format=fmt)
        return Accepted(dataset, warnings)

    def _enqueue_ingestion(self, dataset: Dataset, user_id: str) -> None:
        job = enqueue(
            self.session,
            INGEST_DATASET,
            {"dataset_id": dataset.id},
            project_id=dataset.project_id,
            created_by=user_id,
        )
        # An older job still running sees another job id here and writes nothing.
        dataset.job_id = job.id
        self.session.flush()

    # -- mapping --------------------------------------------------------------------------------------------
    def remap(
        self,
        access: ProjectAccess,
        dataset_id: str,
        mapping: Mapping[str, str],
        read_options: Mapping[str, Any] | None,
        version: int | None,
    ) -> Dataset:
        """Change the mapping (and read options) and rebuild the records with a new ingestion job."""
        checked = check_mapping(dict(mapping))
        options = check_read_options(dict(read_options)) if read_options is not None else None
        dataset = self._locked(access.project.id, dataset_id)
        check_version(dataset, version)
        # A run pinned to this dataset must keep seeing the records it was computed from.
        self._refuse_if_in_use(dataset, "re-mapped (upload the file again to map it differently)")
        dataset.mapping = checked
        if read_options is not None:
            dataset.read_options = options
        dataset.status = DatasetStatus.PENDING
        dataset.error = None
        self._enqueue_ingestion(dataset, access.user.id)
        record_entity_event(
            self.session,
            ENTITY,
            dataset,
            "dataset.mapping_changed",
            actor_id=access.user.id,
            data={"mapping": checked, "read_options": dataset.read_options},
        )
        return dataset

    # -- delete ---------------------------------------------------------------------------------------------
    def delete(self, access: ProjectAccess, dataset_id: str) -> None:
        """Delete the dataset and its records. The stored file stays: it is evidence (content-addressed and
        possibly shared with other datasets) and the audit event keeps its sha256."""
        dataset = self._locked(access.project.id, dataset_id)
        self._refuse_if_in_use(dataset, "deleted")
        record_entity_event(
            self.session,
            ENTITY,
            dataset,
            "dataset.deleted",
            actor_id=access.user.id,
            data={"name": dataset.name, "sha256": dataset.sha256, "rows": dataset.rows},
        )
        delete_rows(self.session, dataset.id)
        self.session.delete(dataset)
        self.session.flush()
        if self.store is not None:  # the records' Arrow files (records_file.py); the upload is evidence
            delete_records_files(self.store, dataset.id)

    def _refuse_if_in_use(self, dataset: Dataset, change: str) -> None:
        # An explicit query (not a hook another domain registers on import): every process refuses alike.
        run = RunRepository(self.session).uses_dataset(dataset.id)
        if run is not None:
            raise Conflict(f"dataset cannot be {change}: it is an input of run {run.id}")
        # A schedule's fixed source, or the open items of instant reconciliation (copies of its records).
        schedule = self.session.scalar(
            select(Schedule.name).where(
                (Schedule.left_dataset_id == dataset.id) | (Schedule.right_dataset_id == dataset.id)
            )
        )
        if schedule is not None:
            raise Conflict(f"dataset cannot be {change}: it is a source of schedule {schedule!r}")
        book = self.session.scalar(select(OpenItemBook.id).where(OpenItemBook.dataset_id == dataset.id))
        if book is not None:
            raise Conflict(
                f"dataset cannot be {change}: instant reconciliation holds its open items ({book})"
            )

    def _locked(self, project_id: str, dataset_id: str) -> Dataset:
        return or_404(self.datasets.get_for_update(project_id, dataset_id), "dataset")

    # -- reading --------------------------------------------------------------------------------------------
    def get(self, project_id: str, dataset_id: str) -> Dataset:
        return self.datasets.get_in_project_or_404(project_id, dataset_id)

    def list(self, project_id: str, params: PageParams, status: DatasetStatus | None) -> Page[Dataset]:
        return self.datasets.page_in_project(project_id, params, status)

    def rejections(self, project_id: str, dataset_id: str, params: PageParams) -> Page[RejectionOut]:
        dataset = self.get(project_id, dataset_id)
        return self.datasets.page_rejections(dataset.id, params).map(rejection_out)

    def records(self, project_id: str, dataset_id: str, params: PageParams) -> Page[RecordOut]:
        dataset = self.get(project_id, dataset_id)
        return self.datasets.page_records(dataset.id, params).map(lambda r: record_out(r, dataset))

    def statements(self, project_id: str, dataset_id: str, params: PageParams) -> Page[StatementOut]:
        dataset = self.get(project_id, dataset_id)
        scale = dataset.amount_scale
        return self.datasets.page_statements(dataset.id, params).map(
            lambda s: response_of(
                StatementOut,
                s,
                opening_balance=_amount(s.opening_balance, scale, s.currency),
                closing_balance=_amount(s.closing_balance, scale, s.currency),
                amount_sum=_amount(s.amount_sum, scale, s.currency) or "0",
            )
        )

    def preview_mapping(
        self, access: ProjectAccess, dataset_id: str, trial: MappingPreviewIn, settings: Settings
    ) -> MappingPreviewOut:
        """What the trial mapping would make of the first rows of the stored file; nothing is saved."""
        checked = check_mapping(dict(trial.mapping)) or {}
        dataset = self.get(access.project.id, dataset_id)
        limit = trial.limit
        raw_options = dataset.read_options
        if trial.read_options is not None:
            raw_options = check_read_options(dict(trial.read_options))
        if dataset.format != "csv":
            message = (
                f"a preview reads the first rows of CSV files; this dataset is {dataset.format}: "
                "save the mapping to see its records"
            )
            raise Unprocessable(message, errors=[FieldError(field="mapping", message=message)])
        if self.store is None:
            raise RuntimeError("preview_mapping needs the object store")
        from recon.datasets.parsing import csv_head, parse_csv_head

        options = bounded(ReadOptions.from_mapping(raw_options, where="read_options"), settings)
        try:
            with closing(self.store.open(dataset.storage_key)) as handle:
                head = csv_head(handle, options, rows=limit)
            parsed = parse_csv_head(head, filename=dataset.filename, options=options, requested=checked)
        except MappingError as exc:
            raise Unprocessable(str(exc), errors=[FieldError(field=exc.field, message=exc.message)]) from None
        except IngestError as exc:
            exc.file = dataset.filename
            error = FieldError(field="read_options", message=str(exc))
            raise Unprocessable(str(exc), errors=[error]) from None
        except ObjectNotFound as exc:
            raise Conflict(f"the stored file of dataset {dataset.id} is missing") from exc
        return mapping_preview_out(parsed, limit, whole_file=len(head) == dataset.size)

    def preview(self, project_id: str, dataset_id: str, limit: int) -> PreviewOut:
        dataset = self.get(project_id, dataset_id)
        items = [record_out(r, dataset) for r in self.datasets.first_records(dataset.id, limit)]
        return PreviewOut(columns=[*CANONICAL_FIELDS, *(dataset.extra_columns or [])], items=items)


def ready_input_dataset(
    session: Session, project_id: str, dataset_id: str, *, field: str, needed_by: str
) -> Dataset:
    """The project's dataset named in the command's field `field`, ready to be read by `needed_by` ("a run",
    "a dry run"): 422 when the project has no such dataset, 409 while it is not ready."""
    dataset = session.scalar(
        select(Dataset).where(Dataset.id == dataset_id, Dataset.project_id == project_id)
    )
    if dataset is None:
        raise Unprocessable(
            f"a dataset of {needed_by} does not exist in this project",
            errors=[FieldError(field=field, message=f"no dataset {dataset_id!r} in this project")],
        )
    if dataset.status != DatasetStatus.READY:
        message = f"dataset {dataset.name!r} is {dataset.status}; {needed_by} needs ready datasets"
        # The detail names the bare field, as it always has; only the errors list is placed in the request.
        errors = [FieldError(field=field, message=message)]
        raise Conflict(f"{field}: {message}", errors=errors, place_detail=False)
    return dataset


def mapping_preview_out(parsed: ParsedDataset, limit: int, *, whole_file: bool) -> MappingPreviewOut:
    rows = parsed.records.slice(0, limit).to_pylist()
    items = [
        RecordOut(
            row=row["row_no"],
            ext_id=row["ext_id"] or "",
            date=row["date"],
            value_date=row["value_date"],
            amount=_amount(row["amount"], parsed.amount_scale, row["currency"]),
            currency=row["currency"],
            reference=row["reference"],
            counterparty=row["counterparty"],
            description=row["description"],
            extra=json.loads(row["extra"]) if row["extra"] else {},
        )
        for row in rows
    ]
    rejections = [response_of(RejectionOut, e) for e in parsed.rejections if e.row <= limit]
    return MappingPreviewOut(
        source_columns=parsed.source_columns,
        effective_mapping={f: c for f, c in parsed.mapping.fields.items() if c is not None},
        detected=parsed.detected,
        columns=[*CANONICAL_FIELDS, *parsed.mapping.extra],
        extra_columns=list(parsed.mapping.extra),
        items=items,
        rejections=rejections,
        rows_read=min(parsed.rows_read, limit),
        whole_file=whole_file,
    )


def rejection_out(rejection: DatasetRejection) -> RejectionOut:
    return response_of(RejectionOut, rejection, row=rejection.row_no)


def _amount(value: Decimal | None, scale: int | None, currency: str | None) -> str | None:
    # Stored as NUMERIC(38, 10); shown exactly with the currency's minor units (more when the file had them).
    if value is None:
        return None
    if scale is not None:
        value = value.quantize(Decimal(1).scaleb(-scale))
    return render_amount(value, currency)


def record_out(record: DatasetRecord, dataset: Dataset) -> RecordOut:
    return RecordOut(
        row=record.row_no,
        ext_id=record.ext_id,
        date=record.date,
        value_date=record.value_date,
        amount=_amount(record.amount, dataset.amount_scale, record.currency),
        currency=record.currency,
        reference=record.reference,
        counterparty=record.counterparty,
        description=record.description,
        extra=record.extra or {},
    )


def _sha256_of(stream: BinaryIO, max_bytes: int) -> str:
    """The SHA-256 of the rest of `stream` (413 beyond `max_bytes`, as an upload)."""
    limiter = HashingLimiter(max_bytes)
    for chunk in iter_chunks(stream):
        limiter.update(chunk)
    return limiter.hexdigest
