"""Job counts for the metrics exporter (the observability domain publishes them as a gauge)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recon.models.jobs import Job, JobStatus


def job_counts_by_state(session: Session) -> dict[str, int]:
    """{"queued": n, "running": n, "succeeded": n, "failed": n, "cancelled": n} (every state present)."""
    counts = {status.value: 0 for status in JobStatus}
    for status, count in session.execute(select(Job.status, func.count()).group_by(Job.status)):
        counts[status] = int(count)
    return counts
