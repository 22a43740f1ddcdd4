"""Durable jobs: the table is the queue and the source of truth that the API reads (ADR 0002)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from recon.core.time import utcnow
from recon.models.base import Base, IdMixin, TimestampMixin
from recon.models.types import EnumText, JSONDoc, Lifecycle, UTCDateTime, one_of


class JobStatus(Lifecycle):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Job(IdMixin, TimestampMixin, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        one_of("status", JobStatus),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress_range"),
        # Leasing: the oldest due queued job.
        Index("ix_jobs_status_run_after", "status", "run_after"),
        # Reclaiming: running jobs whose lease expired.
        Index("ix_jobs_status_lease_expires_at", "status", "lease_expires_at"),
        # The project's job list (newest first).
        Index("ix_jobs_project_id_created_at_id", "project_id", "created_at", "id"),
    )

    kind: Mapped[str] = mapped_column(String(100))
    # NULL for system jobs (backups, schedules): those are not visible through the project API.
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDoc(), default=dict)
    status: Mapped[JobStatus] = mapped_column(EnumText(JobStatus, 16), default=JobStatus.QUEUED)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    # Attempts started (a lease counts one; a graceful release gives it back).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    run_after: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Unique per lease ("<worker id>/<lease>"): every write of a running attempt is fenced by it.
    leased_by: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc(), default=None)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
