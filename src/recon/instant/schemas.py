"""Request and response bodies of instant reconciliation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from recon.core.schemas import Input
from recon.core.text_guard import text_problem
from recon.models.runs import Side

MAX_TRANSACTIONS = 10_000


def _clean(value: str | None) -> str | None:
    problem = None if value is None else text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


Text = Annotated[str | None, Field(default=None, max_length=1000), AfterValidator(_clean)]


class TransactionIn(Input):
    """One transaction in the canonical shape (the columns rule sets name: id, date, value_date, amount,
    currency, reference, counterparty, description). Send amounts as decimal strings ("12.50")."""

    id: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_clean)]
    date: dt.date | None = None
    value_date: dt.date | None = None
    amount: Annotated[Decimal, Field(max_digits=38, decimal_places=10, allow_inf_nan=False)] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    reference: Text = None
    counterparty: Text = None
    description: Text = None


class ReconcileRequest(Input):
    dataset_id: str = Field(max_length=64, description="A ready dataset of the project: the open items")
    ruleset_id: str = Field(max_length=64, description="The rule set matched with (its newest version)")
    ruleset_version: int | None = Field(
        default=None, ge=1, le=2_147_483_647, description="Default: the newest"
    )
    side: Side = Field(
        default=Side.RIGHT,
        description="The rule set's side of the transactions (the dataset is the other side); default right",
    )
    transactions: list[TransactionIn] = Field(max_length=MAX_TRANSACTIONS, description="At most 10,000")


class OpenItemOut(BaseModel):
    row: int = Field(description="The record's row in its dataset")
    id: str
    date: dt.date | None
    value_date: dt.date | None
    amount: str | None = Field(description="Exact decimal text")
    currency: str | None
    reference: str | None
    counterparty: str | None
    description: str | None


class InstantMatch(BaseModel):
    transaction_id: str
    status: Literal["matched", "break"] = Field(description="break: a `compare` field disagrees")
    pass_name: str
    score: float
    item: OpenItemOut
    differences: dict[str, str] = Field(description="For breaks: column -> 'item value vs transaction value'")


class InstantSuggestion(BaseModel):
    transaction_id: str
    pass_name: str
    score: float
    item: OpenItemOut
    rival: dict[str, str | float | None] | None = Field(description="A candidate within the pass's margin")


class InstantLeftover(BaseModel):
    transaction_id: str
    reason: Literal["no_candidate", "suggested", "ambiguous"]


class SkippedPass(BaseModel):
    pass_name: str
    reason: str


class InstantSummary(BaseModel):
    transactions: int
    matched: int
    breaks: int
    suggested: int
    leftovers: int
    open_items: int = Field(description="Open items of the dataset left after this request")


class ReconcileResponse(BaseModel):
    request_id: str
    dataset_id: str
    ruleset_id: str
    ruleset_version: int
    book_id: str
    seeded_from_run_id: str | None = Field(
        description="The run whose unmatched items were the first open items"
    )
    matches: list[InstantMatch] = Field(
        description="Matched (and break) pairs: their open items are now closed"
    )
    suggestions: list[InstantSuggestion] = Field(
        description="Candidates a person should confirm (not closed)"
    )
    leftovers: list[InstantLeftover] = Field(description="Every transaction not matched, with the reason")
    skipped_passes: list[SkippedPass] = Field(description="Passes instant reconciliation does not run")
    summary: InstantSummary


class IndexingAccepted(BaseModel):
    """202: the dataset's open items are being indexed by a job; nothing was matched yet."""

    status: Literal["indexing"]
    book_id: str
    job_id: str | None
    detail: str
