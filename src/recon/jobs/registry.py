"""Task registry: `@task("name")` registers a job function; `TASK_MODULES` names the module that does it.

A built-in task's module is imported when its kind is first needed (enqueued, run, finalised), so the API
process and an idle embedded worker do not load what the tasks need (pyarrow, the engine, openpyxl).
"""

from __future__ import annotations

import importlib
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.orm import Session

from recon.jobs import names

if TYPE_CHECKING:
    from recon.models.jobs import Job

# Built-in task kinds (recon.jobs.names) and the module whose import registers each (the domain's tasks.py).
# Add yours here: a process that never imported the module can still enqueue, lease and run the kind.
TASK_MODULES: dict[str, str] = {
    names.INGEST_DATASET: "recon.datasets.tasks",
    names.EXPORT_RUN: "recon.exports.tasks",
    names.RUN_EXECUTE: "recon.runs.tasks",
    names.RULESET_DRY_RUN: "recon.rulesets.tasks",
    names.INSTANT_INDEX_BOOK: "recon.instant.tasks",
}

# (session, job) -> None, run in the transaction that makes the job final (e.g. mark a dataset failed).
FinalHook = Callable[[Session, "Job"], None]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class TaskSpec:
    name: str
    fn: Callable[..., Any]
    max_attempts: int
    retry_backoff_s: float
    on_failure: FinalHook | None
    on_cancel: FinalHook | None

    def check_payload(self, payload: dict[str, Any]) -> None:
        """The payload must fit the function's keyword parameters (after `ctx`)."""
        try:
            inspect.signature(self.fn).bind(None, **payload)
        except TypeError as exc:
            raise ValueError(f"payload does not fit task {self.name!r}: {exc}") from None

    def backoff_s(self, attempts: int) -> float:
        """Delay before the next attempt after `attempts` failed ones: exponential, capped at 10 minutes."""
        return float(min(self.retry_backoff_s * 2 ** max(attempts - 1, 0), 600.0))


_TASKS: dict[str, TaskSpec] = {}
_load_lock = threading.Lock()
_loaded: set[str] = set()


def task(
    name: str,
    *,
    max_attempts: int = 3,
    retry_backoff_s: float = 5.0,
    on_failure: FinalHook | None = None,
    on_cancel: FinalHook | None = None,
) -> Callable[[F], F]:
    """Register `fn(ctx: JobContext, **payload)` as the task `name`.

    `on_failure` / `on_cancel` run in the transaction that marks the job failed (retries exhausted, lease of
    the last attempt expired, JobFailed) or cancelled, so the domain's own state never stays "in progress".
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")

    def register(fn: F) -> F:
        existing = _TASKS.get(name)
        if existing is not None and existing.fn.__qualname__ != fn.__qualname__:
            raise ValueError(f"task {name!r} is registered twice ({existing.fn.__module__}, {fn.__module__})")
        _TASKS[name] = TaskSpec(name, fn, max_attempts, retry_backoff_s, on_failure, on_cancel)
        return fn

    return register


def import_task_modules(modules: list[str] | tuple[str, ...]) -> None:
    """Import these modules once (their `@task` decorators register the tasks)."""
    with _load_lock:
        for module in modules:
            if module not in _loaded:
                importlib.import_module(module)
                _loaded.add(module)


def load_task_modules(extra: list[str] | tuple[str, ...] = ()) -> None:
    """Import every built-in task module at once (plus `extra`, e.g. a test's tasks)."""
    import_task_modules([*TASK_MODULES.values(), *extra])


def get_task(name: str) -> TaskSpec | None:
    """The task `name`; a built-in one's module is imported on first use."""
    if name not in _TASKS and name in TASK_MODULES:
        import_task_modules([TASK_MODULES[name]])
    return _TASKS.get(name)


def registered_kinds() -> list[str]:
    """The kinds this process can run: the built-in ones (imported or not yet) and those registered."""
    return sorted(set(TASK_MODULES) | set(_TASKS))


def registered_task_modules() -> tuple[str, ...]:
    """The modules whose import registers the tasks known here (a job's child process imports them)."""
    return tuple(sorted({spec.fn.__module__ for spec in _TASKS.values()} | _loaded))
