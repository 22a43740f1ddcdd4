"""Request and response bodies of the runs domain."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from recon.core.schemas import Input, RowOut
from recon.models.jobs import JobStatus
from recon.models.runs import RunStatus, Side

BalanceAmount = Annotated[Decimal, Field(max_digits=38, decimal_places=10, allow_inf_nan=False)]
# An ISO 4217 code, or "" for records without a currency.
CurrencyKey = Annotated[str, StringConstraints(pattern=r"^([A-Z]{3})?$")]


class Balance(Input):
    """A balance of the bank side and of the books side in one currency (exact decimal text)."""

    bank: BalanceAmount | None = None
    books: BalanceAmount | None = None


Balances = Annotated[dict[CurrencyKey, Balance], Field(max_length=50)]


class Period(Input):
    """The period a run reconciles and its balances (the reconciliation statement's figures)."""

    period_start: dt.date | None = None
    period_end: dt.date | None = None
    opening_balances: Balances | None = Field(
        default=None,
        description='{currency: {"bank": "1000.00", "books": "1000.00"}} at the period\'s start; '
        "default: the "
        "closing bank balance and adjusted books balance of the carried-from run's statement, else 0",
    )
    closing_balances: Balances | None = Field(
        default=None,
        description="As stated by the bank statement and the ledger at the period's end (optional): the "
        "statement uses them and shows their difference to opening + the period's records",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.period_start and self.period_end and self.period_start > self.period_end:
            raise ValueError("period_start must not be after period_end")
        return self


class RunCreate(Period):
    left_dataset_id: str = Field(max_length=64, description="A ready dataset of the project (left side)")
    right_dataset_id: str = Field(max_length=64, description="A ready dataset of the project (right side)")
    ruleset_id: str = Field(max_length=64)
    ruleset_version: int | None = Field(
        default=None, ge=1, le=2_147_483_647, description="Version number; default: the latest"
    )
    bank_side: Side = Field(default=Side.RIGHT, description="Which side is the bank (the other: the books)")
    backend: Literal["duckdb", "spark"] = Field(
        default="duckdb",
        description="The engine backend the run executes on: duckdb (default), or spark where the worker has "
        "the spark extra installed (docs/scaling.md); both give the same results",
    )
    carry_forward_from: str | None = Field(
        default=None,
        max_length=64,
        description="A signed-off run of the project (the previous period): its reconciling items become "
        "open records of this run, ageing from their first appearance",
    )


class PeriodUpdate(Period):
    """Change the period or balances of a run not signed off; only the fields sent change."""

    version: int | None = Field(default=None, ge=1, description="The run's version (409 when stale)")


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


class RunJob(RowOut):
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
    period_start: dt.date | None
    period_end: dt.date | None
    bank_side: Side
    backend: str = Field(default="duckdb", description="The engine backend the run executes on")
    carried_from_run_id: str | None = Field(description="The run whose reconciling items this run carried in")
    carry_sha256: str | None = Field(description="Digest of the carried items (pinned like the inputs)")
    opening_balances: dict[str, dict[str, str | None]] | None
    closing_balances: dict[str, dict[str, str | None]] | None
    version: int
