"""Engine exceptions."""

from __future__ import annotations


class EngineError(Exception):
    """Engine-level failure, including a failed exactly-once or control-totals check (a bug)."""


class InputError(EngineError, ValueError):
    """The input tables cannot be reconciled as given (missing/duplicate ids, unusable column types).

    Bad input, not a bug: callers should report it like a RulesError (the CLI exits with code 2)."""
