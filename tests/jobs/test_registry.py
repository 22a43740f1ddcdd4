"""Each built-in task kind is registered by the module `TASK_MODULES` names for it (imported on first use)."""

from __future__ import annotations

import pytest

from recon.jobs.registry import TASK_MODULES, get_task, registered_kinds


@pytest.mark.parametrize(("kind", "module"), sorted(TASK_MODULES.items()))
def test_each_builtin_kind_comes_from_its_module(kind: str, module: str) -> None:
    spec = get_task(kind)
    assert spec is not None, f"importing {module} did not register {kind!r}"
    assert spec.fn.__module__ == module


def test_builtin_kinds_are_known_before_their_modules_load() -> None:
    assert set(TASK_MODULES) <= set(registered_kinds())
    assert get_task("no_such_kind") is None
