"""Request and response bodies of the projects domain."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from recon.core.schemas import Input, RowOut, check_exactly_one
from recon.models import Role
from recon.models.review import DEFAULT_WRITEOFF_REASONS

ReasonCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class ProjectSettings(Input):
    """Per-project switches. Other domains add their fields here (unknown keys are refused)."""

    require_approval: bool = Field(
        default=True, description="Manual decisions need a second person's approval (maker-checker)."
    )
    separation_of_duties: bool = Field(
        default=True,
        description="Sign-off by an approver who made none of the run's manual decisions (recon.review).",
    )
    max_empty_amount_ratio: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="A dataset whose mapped amount is empty or unparseable on more than this share of its "
        "rows "
        "fails ingestion naming the mapping to fix (1: never; 0: any empty amount fails).",
    )
    writeoff_reasons: list[ReasonCode] = Field(
        default_factory=lambda: list(DEFAULT_WRITEOFF_REASONS),
        min_length=1,
        max_length=100,
        description="Reason codes a write-off may name (recon.review).",
    )

    @field_validator("writeoff_reasons")
    @classmethod
    def _unique_reasons(cls, codes: list[str]) -> list[str]:
        if len(set(codes)) != len(codes):
            raise ValueError("write-off reason codes must be unique")
        return codes


class ProjectSettingsView(ProjectSettings):
    """Stored settings as answered (keys no longer known are ignored rather than failing the response)."""

    model_config = ConfigDict(extra="ignore")


class ProjectCreate(Input):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    settings: ProjectSettings = Field(default_factory=ProjectSettings)


class ProjectUpdate(Input):
    """Only the fields sent are changed. `version` (optional) must match the current one, else 409."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    settings: ProjectSettings | None = None
    version: int | None = Field(default=None, ge=1)


class ProjectOut(RowOut):
    id: str
    org_id: str
    name: str
    description: str
    settings: ProjectSettingsView
    created_by_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class ProjectWithRole(ProjectOut):
    role: Role = Field(description="The caller's role in this project.")


class MemberAdd(Input):
    """Add a user of the same organisation, by id or by email."""

    user_id: str | None = Field(default=None, max_length=36)
    email: EmailStr | None = None
    role: Role

    @model_validator(mode="after")
    def _one_identity(self) -> MemberAdd:
        check_exactly_one(self, "user_id", "email")
        return self


class MemberUpdate(Input):
    role: Role


class MemberOut(BaseModel):
    user_id: str
    email: str
    full_name: str
    role: Role
    created_at: dt.datetime
