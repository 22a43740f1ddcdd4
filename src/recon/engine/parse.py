"""Parsing of rules text: YAML (duplicate keys are errors) or JSON, with line numbers in syntax errors."""

from __future__ import annotations

import json
from typing import Any

import yaml

from recon.engine.model import Problem, RulesError

# Rules are a few levels deep; a document nested deeper is refused before the recursive composer (or the JSON
# decoder) could exhaust the interpreter's stack ('[' x 100,000 would be a RecursionError otherwise).
MAX_RULES_DEPTH = 64
_TOO_DEEP = f"nested deeper than {MAX_RULES_DEPTH} levels"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that records duplicate mapping keys instead of silently keeping the last one, and refuses
    nesting deeper than MAX_RULES_DEPTH while composing."""

    duplicate_problems: list[Problem]
    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_RULES_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(None, None, _TOO_DEEP, mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                self.duplicate_problems.append(Problem(f"line {line}", f"duplicate key '{key}'"))
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_document(text: str, source: str) -> Any:
    """Parse YAML or JSON text (JSON when it starts with '{'), reporting syntax errors with a line."""
    if text.lstrip().startswith("{"):
        duplicates: list[Problem] = []

        def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            keys = [key for key, _ in pairs]
            duplicates.extend(
                Problem("", f"duplicate key '{key}'") for key in sorted(set(keys)) if keys.count(key) > 1
            )
            return dict(pairs)

        try:
            document = json.loads(text, object_pairs_hook=pairs_hook)
        except json.JSONDecodeError as exc:
            problem = Problem(f"line {exc.lineno} column {exc.colno}", f"invalid JSON: {exc.msg}")
            raise RulesError([problem], source) from None
        except RecursionError:
            raise RulesError([Problem("", f"invalid JSON: {_TOO_DEEP}")], source) from None
        if _depth(document) > MAX_RULES_DEPTH:
            raise RulesError([Problem("", f"invalid JSON: {_TOO_DEEP}")], source)
        if duplicates:
            raise RulesError(duplicates, source)
        return document
    try:
        loader = _StrictLoader(text)  # the reader rejects control characters up front
    except yaml.YAMLError as exc:
        raise RulesError([Problem("", f"invalid YAML: {exc}")], source) from None
    loader.duplicate_problems = []
    try:
        document = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise RulesError([Problem(where, f"invalid YAML: {exc.problem or exc}")], source) from None
    except yaml.YAMLError as exc:
        raise RulesError([Problem("", f"invalid YAML: {exc}")], source) from None
    finally:
        loader.dispose()
    if loader.duplicate_problems:
        raise RulesError(loader.duplicate_problems, source)
    return document


def _depth(document: Any) -> int:
    deepest, stack = 0, [(document, 0)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return deepest
