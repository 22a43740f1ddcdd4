"""Response bodies and list parameters of the results domain."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from recon.models.runs import GroupKind, GroupOrigin, GroupStatus, ItemState, ReconcilingType, Side

MONEY = "Exact decimal text with the currency's minor-unit digits (2.50, 1500 JPY, 1.250 BHD)"


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    run_id: str
    side: Side
    row_no: int = Field(description="The record's data row in its dataset (1-based)")
    ext_id: str | None = Field(description="The record's id in its file")
    date: dt.date | None
    amount: str | None = Field(description=MONEY)
    currency: str | None
    reference: str | None
    counterparty: str | None
    description: str | None
    state: ItemState
    reason: str | None = Field(
        description="Why it is unmatched: no_candidate, below_min_score, ambiguous, duplicate, rejected, "
        "rejected_suggestion, unmatched_manually"
    )
    detail: str | None = Field(description="The engine's detail of the reason")
    group_id: int | None
    assignee_id: str | None
    opened_at: dt.datetime | None = Field(description="When it became an exception (UTC)")
    age_days: int | None = Field(description="Whole days since opened_at (open exceptions)")
    carried_from_id: int | None = Field(
        description="A reconciling item of the previous period this record continues (its item id there)"
    )
    origin_dataset_id: str | None = Field(
        description="For a carried record not in this run's datasets: the dataset it comes from "
        "(row_no is its row)"
    )
    version: int = Field(description="Send it back with review actions (409 when stale)")


class GroupOut(BaseModel):
    id: int
    run_id: str
    seq: int = Field(description="The engine's group number (manual groups: the next number)")
    pass_name: str | None
    kind: GroupKind
    origin: GroupOrigin
    status: GroupStatus
    score: float | None
    explanation: Any = Field(description="Per-field explanation of the match (the engine's JSON)")
    left_count: int
    right_count: int
    currency: str | None = Field(description="The members' currency when they share one")
    left_total: str = Field(description=MONEY)
    right_total: str = Field(description=MONEY)
    difference: str = Field(description="left_total - right_total; " + MONEY)
    writeoff_amount: str | None = Field(description="The difference written off (with writeoff_reason)")
    writeoff_reason: str | None = Field(
        description="Write-off reason code; `tolerance` when a rule's tolerance matched with a difference"
    )
    reconciling_type: ReconcilingType | None = Field(description="Status reconciling: the explanation")
    assignee_id: str | None
    opened_at: dt.datetime | None
    closed_at: dt.datetime | None
    age_days: int | None
    version: int
    members: list[ItemOut] = Field(default_factory=list)


class GroupSort(enum.StrEnum):
    SEQ = "seq"
    SEQ_DESC = "-seq"
    AMOUNT = "amount"
    AMOUNT_DESC = "-amount"
    AGE = "age"
    AGE_DESC = "-age"
    SCORE = "score"
    SCORE_DESC = "-score"


class ItemSort(enum.StrEnum):
    ID = "id"
    ID_DESC = "-id"
    AMOUNT = "amount"
    AMOUNT_DESC = "-amount"
    DATE = "date"
    DATE_DESC = "-date"
    AGE = "age"
    AGE_DESC = "-age"


class TabCounts(BaseModel):
    """What each review tab holds now (groups by status, unmatched records by side)."""

    suggested: int
    breaks: int = Field(description="Groups in status break")
    unmatched_left: int = Field(description="Records of the left side in state unmatched")
    unmatched_right: int = Field(description="Records of the right side in state unmatched")
    matched: int
    pending_approval: int = Field(description="Groups held by a decision waiting for an approver")
    reconciling: int = Field(description="Records explained as reconciling items")


class GroupTotalsRow(BaseModel):
    currency: str | None
    groups: int
    left_total: str = Field(description=MONEY)
    right_total: str = Field(description=MONEY)
    difference: str = Field(description=MONEY)


class GroupTotals(BaseModel):
    """How many groups the filters select and how much money they hold, per currency."""

    groups: int
    currencies: list[GroupTotalsRow]


class ItemTotalsRow(BaseModel):
    currency: str | None
    records: int
    amount: str = Field(description=MONEY)


class ItemTotals(BaseModel):
    """How many records the filters select and their amount, per currency."""

    records: int
    currencies: list[ItemTotalsRow]
