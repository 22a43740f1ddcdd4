"""Request and response bodies of review actions, decisions and comments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from recon.core.money import money_str
from recon.models.review import CommentTarget, DecisionKind, DecisionStatus
from recon.models.runs import GroupStatus, ItemState

MAX_TARGETS = 1000
MAX_COMMENT = 10_000

_CENTS = Decimal("0.01")


def amount_text(value: Decimal) -> str:
    """Exact text with at least two decimals: NUMERIC(38,10)'s 12.5000000000 -> '12.50', 0.005 -> '0.005'."""
    normalized = value.normalize()
    if normalized.as_tuple().exponent > -2:  # type: ignore[operator]
        normalized = normalized.quantize(_CENTS)
    return money_str(normalized)


Amount = Annotated[Decimal, PlainSerializer(amount_text, return_type=str, when_used="json")]
Text = Annotated[str, Field(max_length=MAX_COMMENT)]
ReasonCode = Annotated[str, Field(min_length=1, max_length=64)]


class Ref(BaseModel):
    """A group or record as the client saw it: its id and `version` (a changed version answers 409)."""

    model_config = ConfigDict(extra="forbid")

    id: int = Field(ge=1, le=2**63 - 1)
    version: int = Field(ge=1, le=2**31 - 1)


Refs = Annotated[list[Ref], Field(max_length=MAX_TARGETS)]


# -- single actions -----------------------------------------------------------------------------------------
class GroupAction(BaseModel):
    """Confirm, reject or unmatch one group. `comment` is required where the action changes money."""

    model_config = ConfigDict(extra="forbid")

    group_id: int = Field(ge=1, le=2**63 - 1)
    version: int = Field(ge=1, le=2**31 - 1, description="The group's version as the client saw it.")
    comment: Text = ""


class WriteOff(BaseModel):
    """Close a break group (`group_id` + `version`) or unmatched records (`items`) with a reason code."""

    model_config = ConfigDict(extra="forbid")

    group_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)
    items: Refs = Field(default_factory=list)
    reason_code: ReasonCode
    comment: Text = ""


class ManualMatch(BaseModel):
    """Match unmatched records of both sides. A non-zero difference needs `writeoff_reason`."""

    model_config = ConfigDict(extra="forbid")

    items: Annotated[list[Ref], Field(min_length=2, max_length=MAX_TARGETS)]
    comment: Text = ""
    writeoff_reason: ReasonCode | None = Field(
        default=None,
        description="Reason code (project setting `writeoff_reasons`) for a non-zero difference.",
    )


class Assign(BaseModel):
    """Give groups and/or records an owner: `assignee_id` a preparer or higher of the project (null: none)."""

    model_config = ConfigDict(extra="forbid")

    groups: Refs = Field(default_factory=list)
    items: Refs = Field(default_factory=list)
    assignee_id: str | None = Field(max_length=36)


class CommentTargetRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: CommentTarget
    target_id: int = Field(ge=1, le=2**63 - 1)


class CommentCreate(CommentTargetRef):
    text: Annotated[str, Field(min_length=1, max_length=MAX_COMMENT)]


# -- bulk ----------------------------------------------------------------------------------------------------
class BulkGroups(BaseModel):
    model_config = ConfigDict(extra="forbid")

    groups: Annotated[list[Ref], Field(min_length=1, max_length=MAX_TARGETS)]
    comment: Text = ""


class BulkWriteOff(BaseModel):
    """One decision per break group and one per record (each record written off on its own)."""

    model_config = ConfigDict(extra="forbid")

    groups: Refs = Field(default_factory=list)
    items: Refs = Field(default_factory=list)
    reason_code: ReasonCode
    comment: Text = ""


class BulkComment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: Annotated[list[CommentTargetRef], Field(min_length=1, max_length=MAX_TARGETS)]
    text: Annotated[str, Field(min_length=1, max_length=MAX_COMMENT)]


class DecisionRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(max_length=36)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class BulkDecisions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decisions: Annotated[list[DecisionRef], Field(min_length=1, max_length=MAX_TARGETS)]
    comment: Text = ""


# -- checker, sign-off ---------------------------------------------------------------------------------------
class Approve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Text = ""
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class RejectDecision(BaseModel):
    """A rejection must say why (`comment`)."""

    model_config = ConfigDict(extra="forbid")

    comment: Text = ""
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class SignOff(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Text = ""


class Reopen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Text = Field(default="", description="Required: why the signed-off run is reopened.")


# -- responses -----------------------------------------------------------------------------------------------
class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    run_id: str
    project_id: str
    kind: DecisionKind
    status: DecisionStatus
    group_id: int | None
    item_ids: list[int]
    maker_id: str | None
    comment: str
    reason_code: str | None
    left_total: Amount | None
    right_total: Amount | None
    difference: Amount | None = Field(description="left_total - right_total")
    checker_id: str | None
    checker_comment: str | None
    decided_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class GroupState(BaseModel):
    """A group after the action (new `version` for the next action)."""

    id: int
    seq: int
    status: GroupStatus
    version: int
    left_total: Amount
    right_total: Amount
    difference: Amount
    writeoff_amount: Amount | None
    writeoff_reason: str | None
    assignee_id: str | None


class ItemStateOut(BaseModel):
    id: int
    side: str
    state: ItemState
    reason: str | None
    group_id: int | None
    assignee_id: str | None
    version: int


class ActionResult(BaseModel):
    """What an action did: the decisions it made or decided, and the groups and records it changed."""

    decisions: list[DecisionOut] = Field(default_factory=list)
    groups: list[GroupState] = Field(default_factory=list)
    items: list[ItemStateOut] = Field(default_factory=list)


class CommentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    run_id: str
    target: CommentTarget
    target_id: int
    author_id: str | None
    text: str
    created_at: dt.datetime


class OpenExceptions(BaseModel):
    """What keeps a run from being signed off."""

    unmatched_items: int = Field(
        description="Records in state `unmatched` (any reason, duplicates included)."
    )
    breaks: int = Field(description="Groups in status `break` (not written off or unmatched yet).")
    suggested_groups: int = Field(description="Groups in status `suggested` (not confirmed or rejected yet).")
    pending_decisions: int = Field(description="Decisions waiting for an approver.")

    @property
    def total(self) -> int:
        return self.unmatched_items + self.breaks + self.suggested_groups + self.pending_decisions


class SignOffOut(BaseModel):
    run_id: str
    signed_off_at: dt.datetime | None
    signed_off_by_id: str | None
    open_exceptions: OpenExceptions
    control_totals: dict[str, Any] = Field(
        default_factory=dict,
        description="Records and amounts per side and state at sign-off (also in the audit event).",
    )
    version: int
