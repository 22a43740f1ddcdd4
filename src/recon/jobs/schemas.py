"""Job resources as the API shows them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from recon.core.schemas import RowOut
from recon.models.jobs import JobStatus


class JobOut(RowOut):
    id: str
    kind: str
    project_id: str | None
    status: JobStatus
    progress: float = Field(description="0..1, as last reported by the task.")
    message: str
    payload: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None = Field(description="The last attempt's error (kept while the job retries).")
    attempts: int = Field(description="Attempts started so far (a lost or failed attempt counts).")
    max_attempts: int
    cancel_requested: bool
    run_after: dt.datetime = Field(description="Not started before this time (retry backoff).")
    heartbeat_at: dt.datetime | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    created_by: str | None
