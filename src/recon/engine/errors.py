"""Engine exceptions."""

from __future__ import annotations


class EngineError(Exception):
    """Engine-level failure, including a failed exactly-once or control-totals check (a bug)."""


class InputError(EngineError, ValueError):
    """The input tables cannot be reconciled as given (missing/duplicate ids, unusable column types).

    Bad input, not a bug: callers should report it like a RulesError (the CLI exits with code 2)."""


class QueryFailed(EngineError):
    """DuckDB refused or failed a query of the plan. `str()` names only the kind of failure (users see it);
    the library's text, which quotes SQL and may name server paths, is `detail` (for the logs)."""

    def __init__(self, kind: str, detail: str) -> None:
        self.kind = kind
        self.detail = detail
        super().__init__(f"the engine could not evaluate the rules on these data ({kind})")
