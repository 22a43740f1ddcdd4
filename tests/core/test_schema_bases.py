"""The shared schema bases: a request body refuses an unknown field (naming it); a row-read response takes
a row's attributes; neither adds a field or changes the order of a model's own."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import ValidationError, model_validator

from recon.core.schemas import Input, RowOut, check_exactly_one


class Rename(Input):
    name: str
    comment: str = ""


class Named(RowOut):
    id: str
    name: str


def test_an_input_refuses_an_unknown_field() -> None:
    assert Rename.model_validate({"name": "x"}) == Rename(name="x")
    with pytest.raises(ValidationError, match="nmae"):
        Rename.model_validate({"nmae": "x", "name": "x"})
    schema = Rename.model_json_schema()
    assert schema["additionalProperties"] is False and list(schema["properties"]) == ["name", "comment"]


def test_a_row_out_reads_attributes() -> None:
    @dataclass
    class Row:
        id: str
        name: str
        hidden: str

    assert Named.model_validate(Row("r1", "n", "h")) == Named(id="r1", name="n")
    assert list(Named.model_json_schema()["properties"]) == ["id", "name"]


class Target(Input):
    groups: list[int] | None = None
    unmatched: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Target:
        check_exactly_one(self, "groups", "unmatched")
        return self


@pytest.mark.parametrize("body", [{}, {"groups": [1], "unmatched": "left"}])
def test_exactly_one_of_two_fields(body: dict[str, object]) -> None:
    assert Target(groups=[]).groups == [] and Target(unmatched="left").unmatched == "left"
    with pytest.raises(ValidationError, match="give exactly one of groups or unmatched"):
        Target.model_validate(body)
