"""Task registry: `@task("name")` registers a job function; `TASK_MODULES` lists the modules that do it.

Workers import every module of `TASK_MODULES` at start; `enqueue` loads them on first use to validate kinds.
"""

from __future__ import annotations

import importlib
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from recon.models.jobs import Job

# Modules whose import registers tasks (each domain's tasks.py). Add yours here.
TASK_MODULES: list[str] = ["recon.datasets.tasks", "recon.exports.tasks", "recon.runs.tasks"]

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


def load_task_modules(extra: list[str] | tuple[str, ...] = ()) -> None:
    """Import the task modules once (plus `extra`, e.g. a test's tasks)."""
    with _load_lock:
        for module in [*TASK_MODULES, *extra]:
            if module not in _loaded:
                importlib.import_module(module)
                _loaded.add(module)


def get_task(name: str) -> TaskSpec | None:
    if name not in _TASKS:
        load_task_modules()
    return _TASKS.get(name)


def registered_kinds() -> list[str]:
    load_task_modules()
    return sorted(_TASKS)
