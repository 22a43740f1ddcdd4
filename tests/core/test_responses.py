"""`response_of` / `attributes`: a response filled from a row's attributes of the same name, with renamed and
computed fields given; a field the row lacks and nobody gives is an error, not a silent default."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import BaseModel, ValidationError

from recon.core.responses import attributes, response_of


@dataclass
class Row:
    id: str
    created_at: str
    note: str | None
    secret: str = "never shown"


class Out(BaseModel):
    id: str
    note: str | None
    signed_at: str
    size: int


def test_fields_come_from_the_row_unless_given() -> None:
    row = Row(id="r1", created_at="2026-12-07", note=None)
    out = response_of(Out, row, signed_at=row.created_at, size=3)
    assert out == Out(id="r1", note=None, signed_at="2026-12-07", size=3)
    assert response_of(Out, row, id="given", signed_at="x", size=1).id == "given"


def test_a_field_neither_on_the_row_nor_given_is_an_error() -> None:
    with pytest.raises(AttributeError, match="signed_at"):
        response_of(Out, Row(id="r1", created_at="t", note="n"), size=1)
    with pytest.raises(ValidationError):
        response_of(Out, Row(id="r1", created_at="t", note="n"), signed_at="t", size="many")


def test_attributes_keep_the_order_asked() -> None:
    row = Row(id="r1", created_at="t", note="n")
    assert list(attributes(row, "note", "id")) == ["note", "id"]
    assert attributes(row, "note", "id") == {"note": "n", "id": "r1"}
