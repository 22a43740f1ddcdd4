"""The test tree stays collectable: pytest imports test modules of folders without __init__.py by their
basename, so two such modules with one name make the whole run error out (seen with test_worker_killed.py)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).parent


def test_test_module_names_are_unique_outside_packages() -> None:
    seen: dict[str, list[str]] = defaultdict(list)
    for path in TESTS.rglob("test_*.py"):
        if not (path.parent / "__init__.py").exists():
            seen[path.name].append(str(path.relative_to(TESTS)))
    clashes = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert clashes == {}


def test_no_test_module_imports_from_conftest() -> None:
    """`from conftest import X` finds whichever folder's conftest pytest imported last (a new conftest in
    tests/results broke three tests/api modules that way); shared values live in tests/shared_values.py."""
    offenders = [
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("*.py")
        if path.name != "conftest.py"
        and any(line.startswith("from conftest import") for line in path.read_text().splitlines())
    ]
    assert offenders == []
