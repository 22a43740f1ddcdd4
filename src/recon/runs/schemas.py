"""Request and response bodies of the runs domain."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from recon.models.jobs import JobStatus
from recon.models.runs import RunStatus


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    left_dataset_id: str = Field(max_length=64, description="A ready dataset of the project (left side)")
    right_dataset_id: str = Field(max_length=64, description="A ready dataset of the project (right side)")
    ruleset_id: str = Field(max_length=64)
    ruleset_version: int | None = Field(
        default=None, ge=1, le=2_147_483_647, description="Version number; default: the latest"
    )


class RunInputs(BaseModel):
    left_dataset_id: str
    right_dataset_id: str
    left_sha256: str
    right_sha256: str


class RunRuleset(BaseModel):
    id: str
    version: int
    version_id: str
    sha256: str


class RunJob(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    status: JobStatus
    progress: float
    message: str
    attempts: int
    max_attempts: int
    error: str | None


class RunOut(BaseModel):
    id: str
    project_id: str
    status: RunStatus
    attempt: int = Field(description="1 for the first execution; each retry adds one")
    progress: dict[str, Any] = Field(
        description='{"phase": "loading|matching|persisting|done", "passes": [{"name", "stage", "groups", '
        '"left", "right"}]}'
    )
    summary: dict[str, Any] | None = Field(
        description="The CLI's summary.json document plus run_id, ruleset and inputs (when succeeded)"
    )
    results_sha256: str | None = Field(description="Digest of the results: equal for identical results")
    error: str | None
    inputs: RunInputs
    ruleset: RunRuleset
    job_id: str | None
    job: RunJob | None = Field(default=None, description="The current job (GET of one run)")
    rerun_of_id: str | None = Field(description="The run whose pinned inputs this run re-executed")
    identical_to_original: bool | None = Field(
        default=None,
        description="For a finished rerun: whether its results are identical to the original run's",
    )
    created_by_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    signed_off_at: dt.datetime | None
    signed_off_by_id: str | None
    version: int
