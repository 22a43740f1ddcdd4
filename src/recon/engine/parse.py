"""Parsing of rules text: YAML (duplicate keys are errors) or JSON, with line numbers in syntax errors."""

from __future__ import annotations

import json
from typing import Any

import yaml

from recon.engine.model import Problem, RulesError


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that records duplicate mapping keys instead of silently keeping the last one."""

    duplicate_problems: list[Problem]

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
