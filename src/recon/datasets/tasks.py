"""The `ingest_dataset` job: parse the stored file and replace the dataset's records in one transaction.

Crash safety: the records, rejections, the dataset's new status and the job's success commit together
(`ctx.finish_in`), fenced by the job's lease. A worker killed at any point leaves either the previous state or
the complete new one; the retried attempt replaces everything again (delete + bulk insert), so each row is
stored exactly once.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from recon.audit.service import record_entity_event
from recon.core.db import session_scope
from recon.core.time import utcnow
from recon.datasets.limits import bounded
from recon.datasets.mapping import MappingError
from recon.datasets.repository import delete_rows
from recon.datasets.statements import DuplicateStatement, register_statements
from recon.ingest import IngestError, ReadOptions, RowError
from recon.jobs import JobContext, JobFailed, task
from recon.jobs.names import INGEST_DATASET
from recon.models import Dataset, DatasetStatus, Project
from recon.models.jobs import Job
from recon.projects.schemas import ProjectSettingsView
from recon.storage import ObjectNotFound, ObjectStore, get_store

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pyarrow as pa

    from recon.datasets.parsing import ParsedDataset


# The steps that need pyarrow/numpy, imported on first call: `enqueue` imports this module to check payloads,
# so the API process (whose image has no data stack) must import it cheaply. Tests replace these attributes.
def parse_dataset(path: Path, **kwargs: Any) -> ParsedDataset:
    from recon.datasets.parsing import parse_dataset as parse

    return parse(path, **kwargs)


def insert_records(session: Session, dataset_id: str, records: pa.Table) -> None:
    from recon.datasets.bulk import insert_records as insert

    insert(session, dataset_id, records)


def insert_rejections(session: Session, dataset_id: str, errors: Sequence[RowError]) -> None:
    from recon.datasets.bulk import insert_rejections as insert

    insert(session, dataset_id, errors)


def write_records_file(store: ObjectStore, dataset_id: str, job_id: str, parsed: ParsedDataset) -> None:
    from recon.datasets.records_file import write_records_file as write

    write(store, dataset_id, job_id, parsed)


def delete_records_files(store: ObjectStore, dataset_id: str, keep_job_id: str | None = None) -> None:
    from recon.datasets.records_file import delete_records_files as delete

    delete(store, dataset_id, keep_job_id)


log = structlog.get_logger("recon.datasets")
ENTITY = "dataset"


def _locked_dataset(session: Session, dataset_id: str) -> Dataset | None:
    return session.scalar(select(Dataset).where(Dataset.id == dataset_id).with_for_update())


def _mark_failed(session: Session, job: Job) -> None:
    """Final-failure hook (retries exhausted, last attempt's worker died, or a permanent error)."""
    dataset = _locked_dataset(session, str(job.payload.get("dataset_id")))
    if dataset is None or dataset.job_id != job.id:
        return  # deleted, or a newer ingestion took over
    dataset.status = DatasetStatus.FAILED
    dataset.error = job.error or "ingestion failed"
    record_entity_event(
        session,
        ENTITY,
        dataset,
        "dataset.ingested",
        actor_id=job.created_by,
        data={"status": "failed", "error": dataset.error, "job_id": job.id, "attempts": job.attempts},
    )


def _mark_cancelled(session: Session, job: Job) -> None:
    dataset = _locked_dataset(session, str(job.payload.get("dataset_id")))
    if dataset is None or dataset.job_id != job.id:
        return
    dataset.status = DatasetStatus.FAILED
    dataset.error = "ingestion was cancelled; re-submit the mapping to ingest again"


@task(INGEST_DATASET, max_attempts=3, on_failure=_mark_failed, on_cancel=_mark_cancelled)
def ingest_dataset(ctx: JobContext, dataset_id: str) -> None:
    with session_scope(ctx.session_factory) as session:
        dataset = _locked_dataset(session, dataset_id)
        if dataset is None or dataset.job_id != ctx.job_id:
            log.info(
                "ingest_skipped", dataset_id=dataset_id, job_id=ctx.job_id, reason="deleted or superseded"
            )
            ctx.finish_in(session, message="nothing to do: the dataset was deleted or re-mapped")
            return
        dataset.status = DatasetStatus.INGESTING
        key, filename, fmt = dataset.storage_key, dataset.filename, dataset.format
        requested, raw_options = dict(dataset.mapping or {}), dataset.read_options
    ctx.progress(0.05, "reading the file")
    store = get_store(ctx.settings)
    started = time.perf_counter()
    try:
        options = bounded(ReadOptions.from_mapping(raw_options, where="read_options"), ctx.settings)
        with store.local_path(key) as path:
            parsed = parse_dataset(
                Path(path), filename=filename, fmt=fmt, options=options, requested=requested
            )
    except (IngestError, MappingError) as exc:
        if isinstance(exc, IngestError):
            exc.file = filename  # name the uploaded file, not its path in the object store
        raise JobFailed(str(exc)) from exc
    except ObjectNotFound as exc:
        raise JobFailed(f"the stored file {key} is missing") from exc
    from recon.datasets.parsing import amount_problem

    problem = amount_problem(parsed, options, _max_empty_amount_ratio(ctx, dataset_id))
    if problem is not None:
        raise JobFailed(problem)
    parsed_s = time.perf_counter() - started
    ctx.check_cancelled()
    ctx.progress(0.5, f"storing {parsed.records.num_rows} records")
    store_started = time.perf_counter()
    with session_scope(ctx.session_factory) as session:
        dataset = _locked_dataset(session, dataset_id)
        if dataset is None or dataset.job_id != ctx.job_id:
            ctx.finish_in(session, message="nothing to do: the dataset was deleted or re-mapped meanwhile")
            return
        # The records' Arrow file (records_file.py) is written while the database takes the rows (pyarrow
        # and the file writes release the GIL), and before the commit: once ready, runs look for it.
        with ThreadPoolExecutor(1, thread_name_prefix="recon-records-file") as pool:
            written = pool.submit(write_records_file, store, dataset_id, ctx.job_id, parsed)
            try:
                _store(session, dataset, parsed)
            except BaseException as exc:
                written.result()
                delete_records_files(store, dataset_id)  # this attempt's file: nothing committed
                if isinstance(exc, DuplicateStatement):
                    raise JobFailed(str(exc)) from exc
                raise
            written.result()
        record_entity_event(
            session,
            ENTITY,
            dataset,
            "dataset.ingested",
            actor_id=dataset.created_by_id,
            data={
                "status": "ready",
                "rows": dataset.rows,
                "rejected": dataset.rejected,
                "sha256": dataset.sha256,
                "mapping": dataset.effective_mapping,
                "job_id": ctx.job_id,
            },
        )
        ctx.finish_in(session, result={"rows": dataset.rows, "rejected": dataset.rejected})
    delete_records_files(store, dataset_id, keep_job_id=ctx.job_id)  # of earlier ingestions
    log.info(
        "dataset_ingested",
        dataset_id=dataset_id,
        rows=parsed.records.num_rows,
        rejected=parsed.rejected_rows,
        parse_s=round(parsed_s, 3),
        store_s=round(time.perf_counter() - store_started, 3),
    )


def _max_empty_amount_ratio(ctx: JobContext, dataset_id: str) -> float:
    """The project's `max_empty_amount_ratio` (recon.projects.schemas.ProjectSettings)."""
    with session_scope(ctx.session_factory) as session:
        settings = session.scalar(
            select(Project.settings)
            .join(Dataset, Dataset.project_id == Project.id)
            .where(Dataset.id == dataset_id)
        )
    return ProjectSettingsView.model_validate(settings or {}).max_empty_amount_ratio


def _store(session: Session, dataset: Dataset, parsed: ParsedDataset) -> None:
    """Replace the records and rejections and set the outcome, all in the caller's transaction."""
    delete_rows(session, dataset.id)
    if parsed.statements:
        register_statements(session, dataset, dataset.format, parsed.statements)
    insert_records(session, dataset.id, parsed.records)
    insert_rejections(session, dataset.id, parsed.rejections)
    dataset.status = DatasetStatus.READY
    dataset.rows = parsed.records.num_rows
    dataset.rejected = parsed.rejected_rows
    dataset.effective_mapping = parsed.mapping.fields
    dataset.source_columns = parsed.source_columns
    dataset.extra_columns = parsed.mapping.extra
    dataset.detected = parsed.detected
    dataset.column_stats = parsed.column_stats
    dataset.amount_scale = parsed.amount_scale
    dataset.error = None
    dataset.ingested_at = utcnow()
    session.flush()
