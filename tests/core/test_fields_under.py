"""`fields_under`: a service's field names placed in the request, with the detail and messages that open
with them, and nothing else touched."""

from __future__ import annotations

import pytest

from recon.core.errors import Conflict, FieldError, Unprocessable, fields_under


def _placed(exc: Exception, location: str = "body") -> Exception:
    with pytest.raises(type(exc)) as caught, fields_under(location):
        raise exc
    return caught.value


def test_fields_detail_and_messages_that_open_with_a_field_are_placed() -> None:
    exc = _placed(
        Unprocessable(
            "options.null_values[0]: must be text",
            errors=[FieldError(field="options", message="options.null_values[0]: must be text")],
        )
    )
    assert isinstance(exc, Unprocessable)
    assert exc.detail == "body.options.null_values[0]: must be text"
    assert exc.errors == [
        FieldError(field="body.options", message="body.options.null_values[0]: must be text")
    ]


def test_prose_that_merely_starts_like_a_field_stays() -> None:
    exc = _placed(
        Conflict(
            "comment is required: say why", errors=[FieldError(field="comment", message="comments: none")]
        ),
        "query",
    )
    assert isinstance(exc, Conflict)
    assert exc.detail == "comment is required: say why"
    assert exc.errors == [FieldError(field="query.comment", message="comments: none")]


def test_the_whole_command_is_the_location_itself() -> None:
    exc = _placed(Unprocessable("nothing to do", errors=[FieldError(field="", message="give groups")]))
    assert isinstance(exc, Unprocessable)
    assert (exc.detail, exc.errors) == ("nothing to do", [FieldError(field="body", message="give groups")])
