"""The `export_run` job: stream the export's rows into a temporary file, store it, mark the export succeeded.

Crash safety: the file goes to content-addressed storage first, then the export's outcome and the job's
success commit together (`ctx.finish_in`). A worker killed before that commit leaves the export `running`
without a file; the retried attempt produces the file again (CSV and JSON byte for byte the same, so the same
key; XLSX embeds its creation time). A killed attempt can leave an unreferenced object behind, never a
half-written export.
"""

from __future__ import annotations

import tempfile
import time

import structlog
from sqlalchemy.orm import Session

from recon.core.db import session_scope
from recon.core.time import utcnow
from recon.exports.dialect import from_stored
from recon.exports.produce import count_rows, produce, read_snapshot
from recon.exports.repository import ExportRepository
from recon.exports.sections import Scope
from recon.jobs import JobContext, JobFailed, task
from recon.jobs.names import EXPORT_RUN
from recon.models.exports import Export, ExportStatus
from recon.models.jobs import Job
from recon.storage import UploadTooLarge, get_store

log = structlog.get_logger("recon.exports")
# Exports up to this size are built in memory, larger ones in a temporary file.
SPOOL_BYTES = 16 * 1024 * 1024
STORAGE_PREFIX = "exports"


def _current(session: Session, export_id: str, job_id: str) -> Export | None:
    """The export locked for update, if this job is still the one producing it."""
    export = ExportRepository(session).get_for_update(export_id)
    if export is None or export.job_id != job_id:
        return None
    return export


def _still_wanted(session: Session, ctx: JobContext, export_id: str, when: str) -> Export | None:
    """`_current` for the job itself: when the export was deleted (`when`: "" before the work, " meanwhile"
    after it), the job ends here with nothing to do and None is returned."""
    export = _current(session, export_id, ctx.job_id)
    if export is None:
        ctx.finish_in(session, message=f"nothing to do: the export was deleted{when}")
    return export


def _mark_failed(session: Session, job: Job) -> None:
    export = _current(session, str(job.payload.get("export_id")), job.id)
    if export is None:
        return
    export.status = ExportStatus.FAILED
    export.error = (job.error or "the export failed").splitlines()[0][:2000]
    export.finished_at = utcnow()


def _mark_cancelled(session: Session, job: Job) -> None:
    export = _current(session, str(job.payload.get("export_id")), job.id)
    if export is None:
        return
    export.status = ExportStatus.CANCELLED
    export.finished_at = utcnow()


@task(EXPORT_RUN, max_attempts=3, on_failure=_mark_failed, on_cancel=_mark_cancelled)
def export_run(ctx: JobContext, export_id: str) -> None:
    with session_scope(ctx.session_factory) as session:
        export = _still_wanted(session, ctx, export_id, "")
        if export is None:
            return
        export.status = ExportStatus.RUNNING
        export.started_at = utcnow()
        scope = Scope(run_id=export.run_id, project_id=export.project_id, as_of=export.created_at)
        what, fmt = export.what, export.format
        dialect = from_stored(export.options)
    started = time.perf_counter()
    with ctx.session_factory() as reader, tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        read_snapshot(reader)
        total = max(sum(count_rows(reader, scope, what).values()), 1)
        ctx.progress(0.01, f"exporting {total} rows")

        def tick(done: int) -> None:
            ctx.check_cancelled()
            ctx.progress(min(0.95, done / total), f"{done} of {total} rows")

        counts = produce(reader, scope, what, fmt, spool, tick=tick, dialect=dialect)
        reader.rollback()  # end the read snapshot before the (possibly slow) upload
        written_s = time.perf_counter() - started
        spool.seek(0)
        try:
            stored = get_store(ctx.settings).put_stream(
                spool,  # type: ignore[arg-type]  # a binary file object
                max_bytes=ctx.settings.export_max_bytes,
                prefix=STORAGE_PREFIX,
            )
        except UploadTooLarge as exc:  # the same rows will not get smaller: no retries
            raise JobFailed(
                f"the export file exceeds EXPORT_MAX_BYTES ({exc.max_bytes} bytes); export fewer sections "
                "or use CSV/JSON instead of XLSX"
            ) from exc
    ctx.check_cancelled()
    with session_scope(ctx.session_factory) as session:
        export = _still_wanted(session, ctx, export_id, " meanwhile")
        if export is None:
            return
        export.status = ExportStatus.SUCCEEDED
        export.storage_key = stored.key
        export.sha256 = stored.sha256
        export.size = stored.size
        export.counts = counts
        export.rows = sum(counts.values())
        export.error = None
        export.finished_at = utcnow()
        result = {"rows": export.rows, "size": stored.size, "sha256": stored.sha256}
        ctx.finish_in(session, result=result, message=f"{export.rows} rows, {stored.size} bytes")
    log.info(
        "export_written",
        export_id=export_id,
        what=what,
        format=fmt,
        rows=sum(counts.values()),
        size=stored.size,
        write_s=round(written_s, 3),
        total_s=round(time.perf_counter() - started, 3),
    )
