"""Rule language v1 (YAML or JSON): the public rule set, loading and column checks.

Shape (everything not listed is an error, reported with its location and a did-you-mean suggestion)::

    version: 1                        # required, only 1 exists
    name: ledger-vs-bank              # required
    description: free text            # optional
    left:  {id: id, amount: amount, read: {...}}   # id required; `amount` names the column used for the
    right: {id: id}                   # amount totals (default: the first tolerance/sum/compare column, else a
                                      # column named "amount"); `read` is passed to ingest (ReadOptions).
                                      # `left: id` is short for `left: {id: id}`.
    columns: {amount: decimal, date: date}   # optional type hints for both sides: decimal|date|string|integer
    duplicates: flag                  # flag (default): extra copies of records identical on every column
                                      # but the id are unmatched with reason `duplicate`; allow: match them
    passes:                           # run in order; a record used by a pass is not offered to later passes
      - name: exact                   # required, unique
        kind: one_to_one              # one_to_one | one_to_many | many_to_one | many_to_many
        match: [...conditions...]     # every condition must hold (optional only for group_by passes)
        score: [...score items...]    # optional weighted similarity; without it closeness decides (below)
        min_score: 0.5                # optional, 0..1: candidates scoring below are dropped
        compare: [...compare items...]  # optional: a pair/group that differs on one of them is a `break`
        suggest: true                 # optional: everything this pass finds is `suggested`, not `matched`
        suggest_below: 0.8            # optional, 0..1: matches scoring below are `suggested`
        date_evidence: false          # optional (default true): scored one_to_one passes with a date window
                                      # weigh the date difference when choosing between rivals
        # grouped kinds only:
        group_by: [counterparty, date]   # group the many side by these columns (both sides for many_to_many)
        max_group_size: 10            # default 10, at least 2
        sum: {left: amount, right: amount, abs: 0.01}   # required: group sums must agree (abs or pct)

Conditions (`left` and `right` name a column on each side):
    {left: a, right: b, op: equals, normalize: [trim, upper]}   # normalize optional
    {left: a, right: b, op: tolerance, abs: 0.01}      # or pct: 0.5 (percent of the larger absolute value,
                                                       # below 100); exactly one of abs/pct
    {left: a, right: b, op: within_days, days: 3}      # |right - left| <= days, days >= 0
    {left: a, right: b, op: contains, direction: either}   # default: the left value contains the right
                                                       # (left_contains_right|right_contains_left|either)
    {left: a, right: b, op: similarity, method: jaro_winkler, min: 0.8}
Normalizers (applied in order; empty text counts as missing and never matches): trim, upper, lower, alnum
(keep letters and digits), digits, collapse_spaces, strip_leading_zeros.
Methods (similarity in 0..1): jaro_winkler (DuckDB), levenshtein (1 - distance / longer length), token_set
(rapidfuzz token_set_ratio / 100), exact (1 or 0). Comparisons are case-sensitive unless normalized.
Score items: {left, right, method, weight (> 0, default 1), normalize}; score = weighted mean.
Without score items the score is the closeness of the pass's tolerances and date windows, averaged:
1 - |difference| / allowed difference for each tolerance (and for a grouped pass's sum), and
1 - |days apart| / (days + 1) for each date window; 1.0 when the pass has none.
Compare items: {left, right, abs | pct} for numbers, {left, right, days} for dates, otherwise equality
(with optional normalize). In grouped passes numbers compare the sums of each side's members.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from recon.engine.checks import suggestion
from recon.engine.model import (
    GROUPED_KINDS,
    SIDES,
    PassSpec,
    Problem,
    RuleData,
    RulesError,
    column_of,
)
from recon.engine.parse import load_document
from recon.engine.planner import Derive, Plan, build_plan
from recon.engine.sql import DATE, NUMBER, STRING
from recon.engine.validate import Validator

_NUMERIC_HINTS = ("decimal", "integer")


class RuleSet:
    """A validated rule set. Build it with parse_rules() or load_rules()."""

    def __init__(self, data: RuleData, text: str, source: str) -> None:
        self.data = data
        self.text = text
        self.source = source
        self.sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def name(self) -> str:
        return self.data.name

    @property
    def left(self) -> Any:
        return self.data.left

    @property
    def right(self) -> Any:
        return self.data.right

    @property
    def passes(self) -> tuple[PassSpec, ...]:
        return self.data.passes

    @property
    def duplicates(self) -> str:
        return self.data.duplicates

    def side(self, side: str) -> Any:
        return self.data.left if side == "left" else self.data.right

    def implied_types(self, side: str) -> list[tuple[str, str, str]]:
        """(column, type, location) implied by the ops that use a column of this side."""
        found: list[tuple[str, str, str]] = []
        spec = self.side(side)
        if spec.amount:
            found.append((spec.amount, "decimal", f"{side}.amount"))
        for pass_spec in self.passes:
            for cond in pass_spec.match:
                if cond.op == "tolerance":
                    found.append((column_of(cond, side), "decimal", cond.location))
                elif cond.op == "within_days":
                    found.append((column_of(cond, side), "date", cond.location))
            if pass_spec.sum is not None:
                found.append((column_of(pass_spec.sum, side), "decimal", pass_spec.sum.location))
            for item in pass_spec.compare:
                if item.abs is not None or item.pct is not None:
                    found.append((column_of(item, side), "decimal", item.location))
                elif item.days is not None:
                    found.append((column_of(item, side), "date", item.location))
        return found

    def column_types(self, side: str) -> dict[str, str]:
        """Type hints plus the types implied by ops (tolerance/sum -> decimal, within_days -> date)."""
        types = dict(self.data.columns)
        for column, kind, _ in self.implied_types(side):
            if column not in types or (kind == "decimal" and types[column] not in _NUMERIC_HINTS):
                types[column] = kind
        return types

    def read_options(self, side: str) -> dict[str, Any] | None:
        read = self.side(side).read
        return dict(read) if read is not None else None

    def amount_column(self, side: str) -> str | None:
        """The column whose sums are reported as the side's amounts (see the module doc)."""
        spec = self.side(side)
        if spec.amount:
            return str(spec.amount)
        for column, kind, _ in self.implied_types(side):
            if kind == "decimal":
                return column
        return None

    def references(self, side: str) -> list[tuple[str, str]]:
        """(column, location) of every column of this side the rules use."""
        refs = [(self.side(side).id, f"{side}.id")]
        if self.side(side).amount:
            refs.append((self.side(side).amount, f"{side}.amount"))
        for spec in self.passes:
            items: list[Any] = [*spec.match, *spec.score, *spec.compare]
            if spec.sum is not None:
                items.append(spec.sum)
            refs.extend((column_of(item, side), f"{item.location}.{side}") for item in items)
            if side in spec.many_sides:
                refs.extend(
                    (column, f"{spec.location}.group_by[{i}]") for i, column in enumerate(spec.group_by)
                )
        return refs

    def check_columns(self, left_columns: Iterable[str], right_columns: Iterable[str]) -> None:
        """RulesError naming every rule location whose column is missing from the inputs."""
        available = {"left": list(left_columns), "right": list(right_columns)}
        problems: list[Problem] = []
        for side in SIDES:
            for column, location in self.references(side):
                if column not in available[side]:
                    pass_name = self._pass_name(location)
                    where = f" in pass '{pass_name}'" if pass_name else ""
                    hint = suggestion(column, available[side])
                    problems.append(Problem(location, f"unknown {side} column '{column}'{where}{hint}"))
        if problems:
            raise RulesError(problems, self.source)

    def _pass_name(self, location: str) -> str | None:
        if location.startswith("passes["):
            index = int(location[len("passes[") : location.index("]")])
            return self.passes[index].name
        return None

    def categories(self, side: str) -> dict[str, str]:
        """Column categories assumed when no data is at hand (for plan())."""
        mapping = {"decimal": NUMBER, "integer": NUMBER, "date": DATE, "string": STRING}
        return {column: mapping[kind] for column, kind in self.column_types(side).items()}

    def plan(
        self,
        left: Mapping[str, str] | None = None,
        right: Mapping[str, str] | None = None,
        derive: Derive | None = None,
    ) -> Plan:
        """The execution plan; str(plan) lists the blocking keys and checks of every pass."""
        return build_plan(
            self.data,
            left if left is not None else self.categories("left"),
            right if right is not None else self.categories("right"),
            derive,
        )

    def __repr__(self) -> str:
        return f"RuleSet(name={self.name!r}, passes={[p.name for p in self.passes]!r})"


def parse_rules(text: str, source: str = "rules") -> RuleSet:
    """Parse and validate rules text (YAML, or JSON when it starts with '{'); raises RulesError."""
    document = load_document(text, source)
    validator = Validator()
    data = validator.document(document)
    problems = list(validator.problems)
    if data is not None:
        problems.extend(_semantic_problems(data))
    if problems or data is None:
        raise RulesError(problems or [Problem("", "no rules found")], source)
    return RuleSet(data, text, source)


def load_rules(path: str | Path) -> RuleSet:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError([Problem("", f"cannot read rules file: {exc}")], str(path)) from None
    return parse_rules(text, source=str(path))


def _semantic_problems(data: RuleData) -> list[Problem]:
    """Cross-field checks: type hints that contradict ops, group_by placement for many_to_many."""
    problems: list[Problem] = []
    provisional = RuleSet(data, "", "")
    for side in SIDES:
        for column, kind, location in provisional.implied_types(side):
            hint = data.columns.get(column)
            compatible = hint is None or hint == kind or (kind == "decimal" and hint in _NUMERIC_HINTS)
            if not compatible:
                problems.append(
                    Problem(
                        location, f"column '{column}' is typed {hint} in columns, but it is used as {kind}"
                    )
                )
    for spec in data.passes:
        if spec.kind in GROUPED_KINDS and spec.kind != "many_to_many" and spec.group_by and spec.sum:
            many = spec.many_sides[0]
            if column_of(spec.sum, many) in spec.group_by:
                problems.append(
                    Problem(f"{spec.location}.sum", "the summed column cannot be a group_by column")
                )
        if spec.suggest_below is not None and spec.suggest:
            problems.append(Problem(spec.location, "give either 'suggest' or 'suggest_below', not both"))
    return list(dict.fromkeys(problems))  # a column used on both sides is reported once
