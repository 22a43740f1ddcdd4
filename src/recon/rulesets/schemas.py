"""Request and response bodies of the rule sets domain."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from recon.core.schemas import Input, RowOut

# Rule texts are small (a few KB); the cap keeps a hostile body from reaching the YAML parser.
MAX_RULES_CHARS = 200_000


class RulesText(Input):
    text: str = Field(
        min_length=1,
        max_length=MAX_RULES_CHARS,
        description="Rule language v1 as YAML, or JSON (a text starting with '{').",
    )


class RuleSetCreate(RulesText):
    name: str = Field(min_length=1, max_length=200, description="Unique in the project.")
    description: str = Field(default="", max_length=10_000)


class VersionCreate(RulesText):
    pass


class RulesProblem(BaseModel):
    location: str = Field(description="Where in the rules, e.g. `passes[1].match[2]`; empty: the document.")
    message: str


class ValidationResult(BaseModel):
    valid: bool
    problems: list[RulesProblem]
    plan: str | None = Field(description="The execution plan (blocking keys and checks per pass) when valid.")
    name: str | None = Field(default=None, description="The `name:` of the rules when valid.")
    format: Literal["yaml", "json"]
    sha256: str


class VersionSummary(RowOut):
    id: str
    ruleset_id: str
    version: int
    format: Literal["yaml", "json"]
    sha256: str
    rules_name: str
    created_by_id: str | None
    created_at: dt.datetime


class VersionOut(VersionSummary):
    text: str


class RuleSetOut(RowOut):
    id: str
    project_id: str
    name: str
    description: str
    latest_version: int
    created_by_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class RuleSetWithLatest(RuleSetOut):
    latest: VersionOut


class DryRunRequest(Input):
    left_dataset_id: str = Field(max_length=36)
    right_dataset_id: str = Field(max_length=36)
    version: int | None = Field(default=None, ge=1, description="Default: the latest version.")


class DryRunResult(BaseModel):
    ruleset_id: str
    version: int
    summary: dict[str, Any] = Field(
        description="The engine's summary (summary.json without elapsed_s), with `inputs` naming the "
        "datasets' file hashes and the rule version's hash. Nothing is stored."
    )
    elapsed_s: float
