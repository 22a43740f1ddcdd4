"""Datasets: an uploaded file (kept byte for byte in object storage), its parsed records in the canonical
shape, and the rows the parser rejected."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from recon.models.base import Base, IdMixin, TimestampMixin, VersionMixin
from recon.models.types import EnumText, JSONDoc, Money, UTCDateTime, one_of


class DatasetStatus(enum.StrEnum):
    PENDING = "pending"
    INGESTING = "ingesting"
    READY = "ready"
    FAILED = "failed"


class Dataset(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "datasets"
    __table_args__ = (
        one_of("status", DatasetStatus),
        Index("ix_datasets_project_id_created_at_id", "project_id", "created_at", "id"),
        Index("ix_datasets_project_id_sha256", "project_id", "sha256"),
        # Idempotency-Key: the same key from the same user in a project names one upload.
        UniqueConstraint("project_id", "created_by_id", "idempotency_key"),
    )

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(500))
    format: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    storage_key: Mapped[str] = mapped_column(String(300))
    status: Mapped[DatasetStatus] = mapped_column(EnumText(DatasetStatus, 16), default=DatasetStatus.PENDING)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    # As requested ({canonical field: source column}); the defaults by name fill in the rest at ingestion.
    mapping: Mapped[dict[str, str] | None] = mapped_column(JSONDoc(), default=None)
    read_options: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc(), default=None)
    # Filled by ingestion: the mapping really used, the file's columns, the unmapped ones kept in `extra`.
    effective_mapping: Mapped[dict[str, str] | None] = mapped_column(JSONDoc(), default=None)
    source_columns: Mapped[list[str] | None] = mapped_column(JSONDoc(), default=None)
    extra_columns: Mapped[list[str] | None] = mapped_column(JSONDoc(), default=None)
    detected: Mapped[dict[str, str] | None] = mapped_column(JSONDoc(), default=None)
    # Per mapped field: {"column": source column, "empty": values that were empty, "unparseable": rejected}.
    column_stats: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc(), default=None)
    # Decimal places of the amount column as the file had them (records are stored as NUMERIC(38, 10)).
    amount_scale: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    duplicate_of: Mapped[str | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="SET NULL"), default=None
    )
    # The ingestion job currently responsible for the records; an older job that finds another id here
    # was superseded (re-mapping) and writes nothing.
    job_id: Mapped[str | None] = mapped_column(String(36), default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ingested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)


# A record's own fields as every table of records carries them (dataset records, run items, open items;
# value_date only where a dataset keeps it): readers list them once from here.
RECORD_FIELDS = ("ext_id", "date", "amount", "currency", "reference", "counterparty", "description")

# Dataset id of the bulk rows: byte-wise collation on PostgreSQL (cheaper index upkeep than the locale's).
DatasetKey = String(36).with_variant(String(36, collation="C"), "postgresql")


class RecordMixin:
    """A record's own fields (RECORD_FIELDS and value_date) as a dataset keeps them, after the table's key
    columns: dataset records and the open items copied from them."""

    ext_id: Mapped[str] = mapped_column(Text)
    date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    value_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    amount: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    currency: Mapped[str | None] = mapped_column(Text, default=None)
    reference: Mapped[str | None] = mapped_column(Text, default=None)
    counterparty: Mapped[str | None] = mapped_column(Text, default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)


class DatasetRecord(Base, RecordMixin):
    """One accepted record in the canonical shape. Written in bulk (COPY / executemany), never one ORM
    object per row; the key (dataset_id, row_no) is also the keyset order of record lists.

    No foreign key to `datasets` on purpose: PostgreSQL checks it per inserted row with a row lock on the
    dataset, which more than doubled the COPY of 1M records (24 s instead of 11 s measured). The rows are
    deleted with their dataset in the same transaction (`recon.datasets.repository.delete_rows`); projects are
    only soft-deleted.
    """

    __tablename__ = "dataset_records"

    dataset_id: Mapped[str] = mapped_column(DatasetKey, primary_key=True)
    row_no: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1-based data row of the file
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc(), default=None, sort_order=1)


class DatasetRejection(Base):
    """One problem of one rejected row (a row with two bad cells has two rejections)."""

    __tablename__ = "dataset_rejections"

    dataset_id: Mapped[str] = mapped_column(DatasetKey, primary_key=True)  # no FK: see DatasetRecord
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)  # order of the problems in the file
    row_no: Mapped[int] = mapped_column(Integer)
    line: Mapped[int | None] = mapped_column(Integer, default=None)
    column: Mapped[str | None] = mapped_column(Text, default=None)
    value: Mapped[str | None] = mapped_column(Text, default=None)
    reason: Mapped[str] = mapped_column(Text)
