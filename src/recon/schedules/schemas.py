"""Request and response bodies of schedules."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field, model_validator

from recon.core.schemas import Input, check_exactly_one


class Source(Input):
    """One side of the scheduled run: a feed (its newest ready dataset when the schedule fires) or a fixed
    dataset. Exactly one of the two."""

    feed_id: str | None = Field(default=None, max_length=64)
    dataset_id: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _exactly_one(self) -> Source:
        check_exactly_one(self, "feed_id", "dataset_id", joined_by="and")
        return self


class ScheduleCreate(Input):
    name: str = Field(min_length=1, max_length=200)
    ruleset_id: str = Field(max_length=64, description="Runs use this rule set's newest version")
    left: Source
    right: Source
    cron: str | None = Field(
        default=None, max_length=200, description='5-field cron, e.g. "0 6 * * 1-5" (06:00 Monday to Friday)'
    )
    timezone: str = Field(
        default="UTC", max_length=64, description="IANA time zone of the cron, e.g. Europe/Berlin"
    )
    on_new_file: bool = Field(
        default=False, description="Also run when a feed source has a new ready dataset"
    )
    enabled: bool = True


class ScheduleUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    cron: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    on_new_file: bool | None = None
    enabled: bool | None = None
    version: int | None = Field(default=None, description="The version read; 409 if it changed since")


class ScheduleOut(BaseModel):
    id: str
    project_id: str
    name: str
    ruleset_id: str
    left: Source
    right: Source
    cron: str | None
    timezone: str
    on_new_file: bool
    enabled: bool
    next_runs: list[dt.datetime] = Field(
        description="The next cron slots in the schedule's time zone (empty without cron or when disabled)"
    )
    last_slot_at: dt.datetime | None
    last_fired_at: dt.datetime | None
    last_run_id: str | None
    last_error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
