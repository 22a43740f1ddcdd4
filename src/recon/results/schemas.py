"""Response bodies and list parameters of the results domain."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from recon.models.runs import GroupKind, GroupOrigin, GroupStatus, ItemState, Side


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    run_id: str
    side: Side
    row_no: int = Field(description="The record's data row in its dataset (1-based)")
    ext_id: str | None = Field(description="The record's id in its file")
    date: dt.date | None
    amount: Decimal | None
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
    left_total: Decimal
    right_total: Decimal
    difference: Decimal = Field(description="left_total - right_total")
    writeoff_amount: Decimal | None
    writeoff_reason: str | None
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
