"""The matching engine: rule language v1, DuckDB execution plan, assignment, explained results.

    rules = load_rules("rules.yaml")            # or parse_rules(text); raises RulesError
    result = reconcile(left_table, right_table, rules)
    result.write("out/", fmt="parquet")

See recon.engine.rules for the rule language and recon.engine.results for the output contract.
"""

from recon.engine.errors import EngineError, InputError
from recon.engine.model import Problem, RulesError
from recon.engine.planner import Plan
from recon.engine.results import Reconciliation
from recon.engine.rules import RuleSet, load_rules, parse_rules
from recon.engine.waterfall import ENGINE_VERSION, ProgressEvent, reconcile

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
