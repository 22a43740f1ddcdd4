"""Request and response bodies of exports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field, model_validator

from recon.core.schemas import Input, RowOut
from recon.exports.dialect import CsvOptions
from recon.models.exports import ExportFormat, ExportStatus, ExportWhat


class ExportCreate(Input):
    what: ExportWhat = Field(
        description="groups (one row per member), unmatched, breaks, audit (the project's trail) or all"
    )
    format: ExportFormat = Field(description="csv, xlsx or json (JSON lines)")
    csv: CsvOptions | None = Field(
        default=None,
        description='CSV dialect (format csv only): {"preset": "excel", "locale": "de-DE"} or explicit '
        "delimiter, decimal_separator, bom",
    )

    @model_validator(mode="after")
    def _csv_only(self) -> ExportCreate:
        if self.csv is not None and self.format != ExportFormat.CSV:
            raise ValueError("csv options apply to format csv")
        return self


class ExportOut(RowOut):
    id: str
    project_id: str
    run_id: str
    what: ExportWhat
    format: ExportFormat
    status: ExportStatus
    job_id: str | None = Field(description="The export_run job (GET /api/v1/jobs/{job_id} for progress)")
    filename: str = Field(description="The download's file name")
    media_type: str
    sha256: str | None = Field(description="sha256 of the file (once succeeded)")
    size: int | None = Field(description="Bytes (once succeeded)")
    rows: int | None = Field(description="Data rows over all sections (once succeeded)")
    counts: dict[str, int] | None = Field(description="Data rows per section (once succeeded)")
    options: dict[str, Any] | None = Field(
        default=None, description="The CSV dialect used: {delimiter, decimal_separator, bom} (format csv)"
    )
    error: str | None
    created_by_id: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
