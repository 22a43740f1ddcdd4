"""Exports of a run's results (groups, unmatched items, breaks, the project's audit trail) as files in object
storage, produced by the `export_run` job and downloaded through the API."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from recon.models.base import Base, IdMixin, TimestampMixin
from recon.models.types import EnumText, JSONDoc, Lifecycle, UTCDateTime, one_of


class ExportWhat(enum.StrEnum):
    GROUPS = "groups"
    UNMATCHED = "unmatched"
    BREAKS = "breaks"
    AUDIT = "audit"
    ALL = "all"


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"


class ExportStatus(Lifecycle):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Export(IdMixin, TimestampMixin, Base):
    __tablename__ = "exports"
    __table_args__ = (
        one_of("what", ExportWhat),
        one_of("format", ExportFormat),
        one_of("status", ExportStatus),
        Index("ix_exports_run_id_created_at_id", "run_id", "created_at", "id"),
        Index("ix_exports_project_id_created_at_id", "project_id", "created_at", "id"),
        # Idempotency-Key: the same key from the same user in a project names one export.
        UniqueConstraint("project_id", "created_by_id", "idempotency_key"),
    )

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    what: Mapped[ExportWhat] = mapped_column(EnumText(ExportWhat, 16))
    format: Mapped[ExportFormat] = mapped_column(EnumText(ExportFormat, 8))
    status: Mapped[ExportStatus] = mapped_column(EnumText(ExportStatus, 16), default=ExportStatus.QUEUED)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), default=None)
    # The download's file name and media type (a ZIP of one file per section for what=all in CSV/JSON).
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    # Set when the file is stored (content-addressed key under "exports/").
    storage_key: Mapped[str | None] = mapped_column(String(300), default=None)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    rows: Mapped[int | None] = mapped_column(Integer, default=None)  # data rows over all sections
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc(), default=None)  # rows per section
    # CSV dialect {"delimiter", "decimal_separator", "bom", "preset", "locale"} (None: RFC 4180 defaults).
    options: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc(), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
