"""Text that must not reach the database or a response: NUL characters (PostgreSQL refuses them in text) and
lone surrogates (no UTF-8 encoding exists for them), anywhere in a value or a JSON document, plus JSON nested
deeper than a limit. Used by the request guard (bodies, query, path) and by form fields parsed as JSON.
"""

from __future__ import annotations

import json
from typing import Any

from recon.core.errors import FieldError


def text_problem(value: str) -> str | None:
    """Why this text is refused, or None."""
    if "\x00" in value:
        return f"contains a NUL character (\\u0000) at position {value.index(chr(0))}"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"contains a lone surrogate (\\u{ord(value[exc.start]):04x}) at position {exc.start}"
    return None


def printable(text: str) -> str:
    """The text for an error message: NUL, surrogates and other controls escaped."""
    if text.isprintable() and text_problem(text) is None:
        return text
    return json.dumps(text)[1:-1]


def document_problem(document: Any, root: str, max_depth: int) -> FieldError | None:
    """The first refused string (value or key) in a parsed JSON document, or its nesting past max_depth,
    as a field error naming where it is (`body.mapping.amount`, `body.items[3]`)."""
    stack: list[tuple[Any, str, int]] = [(document, root, 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem is not None:
                return FieldError(field=printable(where), message=problem)
        elif isinstance(value, dict | list):
            if depth >= max_depth:
                return FieldError(field=printable(where), message=f"nested deeper than {max_depth} levels")
            if isinstance(value, list):
                stack.extend((item, f"{where}[{index}]", depth + 1) for index, item in enumerate(value))
                continue
            for key, item in value.items():
                key_problem = text_problem(key)
                if key_problem is not None:
                    return FieldError(field=printable(f"{where}.{key}"), message=f"the key {key_problem}")
                stack.append((item, f"{where}.{key}", depth + 1))
    return None


def loads_bounded(raw: str | bytes, root: str, max_depth: int) -> tuple[Any, FieldError | None]:
    """json.loads with the checks above; a document deep enough to exhaust the parser's recursion is a field
    error too. Raises json.JSONDecodeError / ValueError for text that is not JSON."""
    try:
        document = json.loads(raw)
    except RecursionError:
        return None, FieldError(field=root, message=f"nested deeper than {max_depth} levels")
    return document, document_problem(document, root, max_depth)
