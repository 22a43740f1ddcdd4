"""Request and response bodies of review actions, decisions and comments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_serializer, model_validator

from recon.core.money import render_amount
from recon.core.schemas import Input, RowOut, check_exactly_one
from recon.models.review import CommentTarget, DecisionKind, DecisionStatus
from recon.models.runs import GroupStatus, ItemState, ReconcilingType, Side, UnmatchedReason

MAX_TARGETS = 1000
MAX_COMMENT = 10_000


def amount_text(value: Decimal, currency: str | None = None) -> str:
    """Exact text with the currency's minor-unit digits (default 2): 12.5000000000 -> '12.50'."""
    return render_amount(value, currency)


def _in_currency(*fields: str) -> Any:
    """A JSON serializer of these Decimal fields as exact text with the minor-unit digits of the model's
    `currency` (null stays null)."""

    def money(self: Any, value: Decimal | None) -> str | None:  # `self`: pydantic passes the model as such
        return None if value is None else render_amount(value, self.currency)

    return field_serializer(*fields, when_used="json")(money)


Amount = Annotated[Decimal, PlainSerializer(amount_text, return_type=str, when_used="json")]
AmountText = Annotated[str, Field(pattern=r"^-?\d+(\.\d+)?$", description="Exact decimal text")]
Text = Annotated[str, Field(max_length=MAX_COMMENT)]
ReasonCode = Annotated[str, Field(min_length=1, max_length=64)]


class Ref(Input):
    """A group or record as the client saw it: its id and `version` (a changed version answers 409)."""

    id: int = Field(ge=1, le=2**63 - 1)
    version: int = Field(ge=1, le=2**31 - 1)


Refs = Annotated[list[Ref], Field(max_length=MAX_TARGETS)]


# -- single actions -----------------------------------------------------------------------------------------
class GroupAction(Input):
    """Confirm, reject or unmatch one group. `comment` is required where the action changes money."""

    group_id: int = Field(ge=1, le=2**63 - 1)
    version: int = Field(ge=1, le=2**31 - 1, description="The group's version as the client saw it.")
    comment: Text = ""


class Confirm(GroupAction):
    """Confirm a suggested group or accept a break: it becomes matched. A non-zero difference is written off
    in the same decision: `writeoff_reason` is then required (and `comment`)."""

    writeoff_reason: ReasonCode | None = Field(
        default=None,
        description="Reason code (project setting `writeoff_reasons`) for a non-zero difference.",
    )


class WriteOff(Input):
    """Close a break group (`group_id` + `version`) or unmatched records (`items`) with a reason code."""

    group_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)
    items: Refs = Field(default_factory=list)
    reason_code: ReasonCode
    comment: Text = ""


class ManualMatch(Input):
    """Match unmatched records of both sides. A non-zero difference needs `writeoff_reason`."""

    items: Annotated[list[Ref], Field(min_length=2, max_length=MAX_TARGETS)]
    comment: Text = ""
    writeoff_reason: ReasonCode | None = Field(
        default=None,
        description="Reason code (project setting `writeoff_reasons`) for a non-zero difference.",
    )


class Assign(Input):
    """Give groups and/or records an owner: `assignee_id` a preparer or higher of the project (null: none)."""

    groups: Refs = Field(default_factory=list)
    items: Refs = Field(default_factory=list)
    assignee_id: str | None = Field(max_length=36)


class CommentTargetRef(Input):
    target: CommentTarget
    target_id: int = Field(ge=1, le=2**63 - 1)


class CommentCreate(CommentTargetRef):
    text: Annotated[str, Field(min_length=1, max_length=MAX_COMMENT)]


# -- bulk ----------------------------------------------------------------------------------------------------
class BulkGroups(Input):
    groups: Annotated[list[Ref], Field(min_length=1, max_length=MAX_TARGETS)]
    comment: Text = ""


class BulkConfirm(BulkGroups):
    """Confirm many suggested groups or breaks; those with a non-zero difference are written off with
    `writeoff_reason` in the same decision (required when any has one)."""

    writeoff_reason: ReasonCode | None = None


class ReconcilingItems(Input):
    """Explain unmatched records as reconciling items (one decision per record): `type` deposit_in_transit or
    outstanding_payment (books side), bank_error (bank side), timing (either side). `comment` required."""

    items: Annotated[list[Ref], Field(min_length=1, max_length=MAX_TARGETS)]
    type: ReconcilingType
    comment: Text = ""


class BulkWriteOff(Input):
    """One decision per break group and one per record (each record written off on its own)."""

    groups: Refs = Field(default_factory=list)
    items: Refs = Field(default_factory=list)
    reason_code: ReasonCode
    comment: Text = ""


class BulkComment(Input):
    targets: Annotated[list[CommentTargetRef], Field(min_length=1, max_length=MAX_TARGETS)]
    text: Annotated[str, Field(min_length=1, max_length=MAX_COMMENT)]


class DecisionRef(Input):
    id: str = Field(max_length=36)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class BulkDecisions(Input):
    decisions: Annotated[list[DecisionRef], Field(min_length=1, max_length=MAX_TARGETS)]
    comment: Text = ""


# -- checker, sign-off ---------------------------------------------------------------------------------------
class Approve(Input):
    comment: Text = ""
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class RejectDecision(Input):
    """A rejection must say why (`comment`)."""

    comment: Text = ""
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class SignOff(Input):
    comment: Text = ""


class Reopen(Input):
    comment: Text = Field(default="", description="Required: why the signed-off run is reopened.")


# -- responses -----------------------------------------------------------------------------------------------
class DecisionOut(RowOut):
    id: str
    run_id: str
    project_id: str
    kind: DecisionKind
    status: DecisionStatus
    group_id: int | None
    item_ids: list[int]
    maker_id: str | None
    comment: str
    reason_code: str | None = Field(
        description="Write-off reason (write-offs, confirmations with a difference)"
    )
    reconciling_type: ReconcilingType | None = Field(description="Kind reconciling_item: the explanation")
    currency: str | None = Field(description="The records' currency (amounts show its minor units)")
    left_total: Decimal | None
    right_total: Decimal | None
    difference: Decimal | None = Field(description="left_total - right_total")
    checker_id: str | None
    checker_comment: str | None
    decided_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    _money = _in_currency("left_total", "right_total", "difference")


class GroupState(BaseModel):
    """A group after the action (new `version` for the next action)."""

    id: int
    seq: int
    status: GroupStatus
    version: int
    currency: str | None
    left_total: Decimal
    right_total: Decimal
    difference: Decimal
    writeoff_amount: Decimal | None
    writeoff_reason: str | None
    reconciling_type: ReconcilingType | None
    assignee_id: str | None

    _money = _in_currency("left_total", "right_total", "difference", "writeoff_amount")


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


class CommentOut(RowOut):
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


class StatementRef(BaseModel):
    id: str
    sha256: str = Field(description="sha256 of the statement's canonical JSON (pinned in run.signed_off)")
    xlsx_sha256: str | None = Field(description="sha256 of the XLSX sheet (pinned in run.signed_off)")
    size: int | None = Field(description="Bytes of the XLSX sheet")


class SignOffOut(BaseModel):
    run_id: str
    signed_off_at: dt.datetime | None
    signed_off_by_id: str | None
    open_exceptions: OpenExceptions
    control_totals: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Per currency: {currency, left: {category: {records, amount}}, right: {...}} with the "
        "categories matched, written_off, reconciling, unmatched, break, suggested, pending (at sign-off; "
        "also in "
        "the audit event)",
    )
    statement: StatementRef | None = Field(default=None, description="The statement signed off")
    version: int


class StatementOut(BaseModel):
    """A reconciliation statement: the one of a sign-off (`id`, hashes, `signed_off_at`), or a live preview
    of a run not signed off (`id` null)."""

    id: str | None
    run_id: str
    sha256: str | None
    xlsx_sha256: str | None
    signed_off_at: dt.datetime | None
    signed_off_by_id: str | None
    withdrawn_at: dt.datetime | None
    document: dict[str, Any] = Field(
        description="kind, version, run_id, period {start, end}, bank_side, books_side, datasets, ruleset, "
        "prepared_at, prepared_by, agrees, sections: [{currency, balance_per_bank, bank_balance {opening, "
        "period_records, computed_closing, stated_closing, difference}, reconciling_items: [{type, side, on, "
        "effect_on_bank, count, amount, items}], adjusted_balance_per_bank, balance_per_books, "
        "books_balance, "
        "adjustments: [{reason, groups, amount}], adjusted_balance_per_books, unexplained_difference, "
        "agrees, "
        "open_items, carried_in, opening_difference, control_totals}]"
    )


# -- bulk on everything a filter selects ---------------------------------------------------------------------
MAX_BY_FILTER = 10_000


class SelectionWindow(Input):
    """The filters groups and records share (recon.results.repository.Window)."""

    amount_min: Decimal | None = Field(default=None, max_digits=38, allow_inf_nan=False)
    amount_max: Decimal | None = Field(default=None, max_digits=38, allow_inf_nan=False)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    q: str | None = Field(default=None, min_length=1, max_length=200)
    assignee_id: str | None = Field(default=None, max_length=64)
    min_age: int | None = Field(default=None, ge=0, le=100_000)
    max_age: int | None = Field(default=None, ge=0, le=100_000)


class GroupSelection(SelectionWindow):
    """The filters of `GET /runs/{id}/groups` (same names and meaning)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    status: list[GroupStatus] = Field(default_factory=list, max_length=10)
    pass_name: str | None = Field(default=None, alias="pass", max_length=200)
    min_score: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    difference_min: Decimal | None = Field(default=None, max_digits=38, allow_inf_nan=False)
    difference_max: Decimal | None = Field(default=None, max_digits=38, allow_inf_nan=False)


class ItemSelection(SelectionWindow):
    """The filters of `GET /runs/{id}/unmatched` (records in state unmatched of one side)."""

    side: Side
    reason: list[UnmatchedReason] = Field(default_factory=list, max_length=10)


class BulkByFilter(Input):
    """An action on every group (`groups`) or unmatched record (`unmatched`) a filter selects, at most
    10,000. `expected_count` is the count the user confirmed (from `GET .../totals`): when the filter
    selects another number now, nothing is done (409). Actions on groups: confirm, reject, unmatch,
    writeoff (breaks), assign; on records: writeoff (each on its own), assign."""

    action: Literal["confirm", "reject", "unmatch", "writeoff", "assign"]
    groups: GroupSelection | None = None
    unmatched: ItemSelection | None = None
    expected_count: int = Field(ge=0, le=MAX_BY_FILTER)
    comment: Text = ""
    reason_code: ReasonCode | None = Field(
        default=None, description="Write-off reason: writeoff, and confirm of groups with a difference"
    )
    assignee_id: str | None = Field(default=None, max_length=36, description="assign: the owner (null: none)")

    @model_validator(mode="after")
    def _one_target(self) -> BulkByFilter:
        check_exactly_one(self, "groups", "unmatched")
        if self.unmatched is not None and self.action not in ("writeoff", "assign"):
            raise ValueError(f"{self.action} acts on groups; records take writeoff or assign")
        return self


class BulkByFilterResult(BaseModel):
    """How many groups or records the action touched, and the decisions it made."""

    touched: int
    decisions: int
