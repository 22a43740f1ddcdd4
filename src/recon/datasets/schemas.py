"""Request and response bodies of the datasets domain."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from recon.core.schemas import Input, RowOut
from recon.models import DatasetStatus


class DatasetOut(RowOut):
    id: str
    project_id: str
    name: str
    filename: str
    format: str = Field(
        description="csv, xlsx, parquet, json, or a bank statement format: mt940, mt950, camt053, camt052, "
        "camt054, bai2, ofx (sniffed from the content, never from the name)"
    )
    status: DatasetStatus
    rows: int = Field(description="Records stored")
    rejected: int = Field(description="Rows rejected (see /rejections for the problems)")
    sha256: str
    size: int = Field(description="Bytes")
    mapping: dict[str, str] | None = Field(description="Mapping as requested ({canonical field: column})")
    effective_mapping: dict[str, str] | None = Field(
        description="Mapping used by the last ingestion (requested entries plus the defaults by name)"
    )
    read_options: dict[str, Any] | None
    source_columns: list[str] | None
    extra_columns: list[str] | None = Field(description="Unmapped columns, kept in each record's `extra`")
    detected: dict[str, str] | None = Field(description="What ingestion detected (encoding, delimiter, ...)")
    column_stats: dict[str, dict[str, Any]] | None = Field(
        default=None,
        description='Per mapped field: {"column", "empty": records without a value, "unparseable": rows '
        "rejected for a bad value in it} (last ingestion)",
    )
    error: str | None = Field(description="Why ingestion failed (status failed)")
    duplicate_of: str | None = Field(description="An earlier dataset of this project with the same file")
    job_id: str | None = Field(description="The ingestion job (GET /api/v1/jobs/{job_id})")
    created_by_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    ingested_at: dt.datetime | None
    version: int


class DatasetAccepted(DatasetOut):
    """The answer to an upload or a re-mapping: ingestion runs as a job; poll the dataset's status."""

    warnings: list[str] = Field(default_factory=list)


class MappingUpdate(Input):
    """New mapping (and optionally read options) for a dataset; the records are rebuilt by a job."""

    mapping: dict[str, str] = Field(description="{canonical field: source column}; omitted fields by name")
    read_options: dict[str, Any] | None = Field(default=None, description="Omitted: keep the current ones")
    version: int | None = Field(default=None, ge=1, description="Must match the current version, else 409")


class MappingPreviewIn(Input):
    """A mapping (and read options) to try on the first rows of the stored file; nothing is saved."""

    mapping: dict[str, str] = Field(description="{canonical field: source column}; omitted fields by name")
    read_options: dict[str, Any] | None = Field(
        default=None, description="Omitted: the dataset's current ones"
    )
    limit: int = Field(default=50, ge=1, le=200, description="Number of data rows to read")


class RejectionOut(BaseModel):
    row: int = Field(description="1-based data row (header and blank lines not counted)")
    line: int | None = Field(description="Where the record starts in the file, when known")
    column: str | None = Field(description="None when the record as a whole is broken")
    value: str | None
    reason: str


class StatementOut(BaseModel):
    """One statement of a bank statement file (MT940, CAMT, BAI2, OFX), as checked at ingestion."""

    seq: int = Field(description="1-based position of the statement in the file")
    format: str
    statement_id: str
    account: str
    currency: str | None
    period_start: dt.date | None
    period_end: dt.date | None
    opening_balance: str | None = Field(
        description="Exact decimal text with the currency's minor-unit digits; "
        "null when the format states none (OFX)"
    )
    closing_balance: str | None
    entries: int
    amount_sum: str = Field(description="Signed sum of the entries (credits positive), exact decimal text")


class RecordOut(BaseModel):
    row: int
    ext_id: str
    date: dt.date | None
    value_date: dt.date | None
    amount: str | None = Field(description="Exact decimal text with the currency's minor-unit digits")
    currency: str | None
    reference: str | None
    counterparty: str | None
    description: str | None
    extra: dict[str, str | None] = Field(default_factory=dict)


class PreviewOut(BaseModel):
    columns: list[str] = Field(description="Canonical fields, then the extra columns")
    items: list[RecordOut]


class MappingPreviewOut(BaseModel):
    """What the mapping makes of the first rows: the records, the rejected rows and the types detected."""

    source_columns: list[str] = Field(description="The file's columns")
    effective_mapping: dict[str, str] = Field(description="{canonical field: source column} as resolved")
    detected: dict[str, str] = Field(description="What was detected while reading (encoding, delimiter, ...)")
    columns: list[str] = Field(description="Canonical fields, then the extra columns")
    extra_columns: list[str] = Field(description="The file's columns no field uses (kept in `extra`)")
    items: list[RecordOut] = Field(description="The accepted rows among the first `rows_read`")
    rejections: list[RejectionOut] = Field(description="Why each rejected row among them was refused")
    rows_read: int
    whole_file: bool = Field(description="True when the rows read are all of the file")
