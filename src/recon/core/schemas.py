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
