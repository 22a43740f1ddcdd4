"""The matching engine: rule language v1, DuckDB execution plan, assignment, explained results.

    rules = load_rules("rules.yaml")            # or parse_rules(text); raises RulesError
    result = reconcile(left_table, right_table, rules)
    result.write("out/", fmt="parquet")

See recon.engine.rules for the rule language and recon.engine.results for the output contract.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from recon.engine.errors import EngineError, InputError
from recon.engine.model import Problem, RulesError
from recon.engine.planner import Plan
from recon.engine.rules import RuleSet, load_rules, parse_rules

if TYPE_CHECKING:
    from recon.engine.results import Reconciliation
    from recon.engine.waterfall import ENGINE_VERSION, ProgressEvent, reconcile

# Execution (DuckDB, NumPy, SciPy, RapidFuzz, pyarrow) loads on first use: parsing and validating rules, as
# the API does, stays light.
_LAZY = {
    "ENGINE_VERSION": "recon.engine.waterfall",
    "ProgressEvent": "recon.engine.waterfall",
    "reconcile": "recon.engine.waterfall",
    "Reconciliation": "recon.engine.results",
}

__all__ = [
    "ENGINE_VERSION",
    "EngineError",
    "InputError",
    "Plan",
    "Problem",
    "ProgressEvent",
    "Reconciliation",
    "RuleSet",
    "RulesError",
    "load_rules",
    "parse_rules",
    "reconcile",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
