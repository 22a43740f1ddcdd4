"""Bases of the domains' Pydantic models: what every request body and every row-read response declares
alike, written once (field order and constraints stay each model's own)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Input(BaseModel):
    """A request body (or part of one): an unknown field is a 422 naming it, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class RowOut(BaseModel):
    """A response read from a row's attributes (`RowOut.model_validate(row)`)."""

    model_config = ConfigDict(from_attributes=True)


def check_exactly_one(model: BaseModel, first: str, second: str, *, joined_by: str = "or") -> None:
    """For an `after` model validator: a 422 on the model unless exactly one of the two fields is given."""
    if (getattr(model, first) is None) == (getattr(model, second) is None):
        raise ValueError(f"give exactly one of {first} {joined_by} {second}")
