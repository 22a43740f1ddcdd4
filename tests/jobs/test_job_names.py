"""Every job kind a service enqueues is registered, and each kind's name is written once (recon.jobs.names).

The source is read, not imported: a kind enqueued by a module that no test imports still counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

import recon
from recon.jobs import names
from recon.jobs.registry import TASK_MODULES, get_task

SRC = Path(recon.__file__).parent
KINDS = {value for key, value in vars(names).items() if key.isupper()}


def _calls(func_name: str) -> list[tuple[Path, ast.Call]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if name == func_name:
                    found.append((path, node))
    return found


def _kind(path: Path, call: ast.Call, position: int) -> str:
    """The kind argument as a recon.jobs.names constant; a literal or a local constant fails the test."""
    arg = call.args[position] if len(call.args) > position else None
    where = f"{path.relative_to(SRC.parent)}:{call.lineno}"
    assert isinstance(arg, ast.Name), f"{where}: the job kind must be a recon.jobs.names constant"
    assert hasattr(names, arg.id), f"{where}: {arg.id} is not defined in recon.jobs.names"
    return str(getattr(names, arg.id))


def test_every_enqueued_kind_is_registered() -> None:
    calls = [(path, call) for path, call in _calls("enqueue") if path.name != "queue.py"]
    assert calls, "no enqueue call found: the scan is broken"
    for path, call in calls:
        kind = _kind(path, call, 1)
        assert kind in TASK_MODULES, f"{path.name}:{call.lineno} enqueues {kind!r}, which no module registers"
        spec = get_task(kind)
        assert spec is not None and spec.name == kind


def test_every_task_decorator_uses_its_registered_module() -> None:
    decorated = {}
    for path, call in _calls("task"):
        if path.parent.name == "jobs":
            continue
        module = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
        decorated[_kind(path, call, 0)] = module
    assert decorated == TASK_MODULES


def test_every_name_is_a_builtin_kind() -> None:
    assert set(TASK_MODULES) == KINDS
