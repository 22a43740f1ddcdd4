"""Response of the project dashboard."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

AGE_BUCKETS = ("0-1", "2-7", "8-30", ">30")


class SideRates(BaseModel):
    left: float | None
    right: float | None
    overall: float | None


class SideCounts(BaseModel):
    left: int
    right: int
    total: int


class CurrencyAmounts(BaseModel):
    """Exact amounts of one currency (text with its minor units) per side and category."""

    currency: str | None
    left: dict[str, str] = Field(description="{category: amount}")
    right: dict[str, str] = Field(description="{category: amount}")
    written_off_differences: str = Field(
        description="Sum of the differences written off (matched groups with a write-off, one-sided included)"
    )


class RunStats(BaseModel):
    run_id: str
    created_at: dt.datetime
    left_dataset_id: str
    right_dataset_id: str
    signed_off_at: dt.datetime | None
    period_start: dt.date | None
    period_end: dt.date | None
    records: SideCounts
    matched: SideCounts = Field(
        description="Records matched with a partner (engine, confirmed, manual), written-off differences "
        "included"
    )
    written_off: SideCounts = Field(description="Records written off on their own (no partner)")
    reconciling: SideCounts = Field(description="Records explained as reconciling items (carried forward)")
    match_rate: SideRates = Field(description="matched / records, per side and overall (null: no records).")
    items_by_state: dict[str, dict[str, int]] = Field(
        description="{side: {category: records}}: the item states, with `matched` split into matched and "
        "written_off"
    )
    amounts: list[CurrencyAmounts] = Field(description="Exact amounts per currency, side and category")
    groups_by_status: dict[str, int]
    open_exceptions: int = Field(description="Unmatched records + break groups of this run, now.")


class AgeBuckets(BaseModel):
    """Open exceptions by age in days (today's UTC date minus the UTC date they were opened)."""

    d0_1: int = Field(alias="0-1")
    d2_7: int = Field(alias="2-7")
    d8_30: int = Field(alias="8-30")
    over_30: int = Field(alias=">30")

    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    @property
    def total(self) -> int:
        return self.d0_1 + self.d2_7 + self.d8_30 + self.over_30


class OwnerExceptions(BaseModel):
    assignee_id: str | None = Field(description="null: unassigned")
    name: str = Field(description='The assignee\'s name or email; "unassigned" for null.')
    total: int
    by_age: AgeBuckets


class OpenExceptionsView(BaseModel):
    scope: str = Field(
        description="Which runs count: the latest succeeded run of every (left, right) dataset pair."
    )
    run_ids: list[str]
    unmatched_items: int
    breaks: int
    total: int
    by_age: AgeBuckets
    by_owner: list[OwnerExceptions]


class TrendPoint(BaseModel):
    run_id: str
    created_at: dt.datetime
    match_rate: float | None
    open_exceptions: int


class Dashboard(BaseModel):
    project_id: str
    as_of: dt.date = Field(description="Today's UTC date: ages are counted up to it.")
    runs: list[RunStats] = Field(description="The most recent succeeded runs, newest first.")
    open_exceptions: OpenExceptionsView
    trend: list[TrendPoint] = Field(description="The same runs, oldest first.")
