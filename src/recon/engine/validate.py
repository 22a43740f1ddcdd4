"""Strict validation of the raw rules mapping into the rule model; collects every problem at once."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from recon.engine.checks import FieldChecks, describe, join
from recon.engine.model import (
    COLUMN_TYPES,
    DEFAULT_MARGIN,
    DEFAULT_TEXT_NORMALIZE,
    DIRECTIONS,
    DUPLICATE_MODES,
    GROUPED_KINDS,
    KINDS,
    METHODS,
    OPS,
    CompareItem,
    Condition,
    PassSpec,
    RuleData,
    ScoreItem,
    SideSpec,
    SumSpec,
)

TOP_KEYS = ("version", "name", "description", "left", "right", "columns", "passes", "duplicates")
SIDE_KEYS = ("id", "amount", "read")
PASS_KEYS = (
    "name",
    "kind",
    "description",
    "match",
    "score",
    "min_score",
    "compare",
    "suggest",
    "suggest_below",
    "margin",
    "date_evidence",
)
GROUPED_PASS_KEYS = ("group_by", "max_group_size", "sum")
OP_KEYS: dict[str, tuple[str, ...]] = {
    "equals": ("normalize",),
    "tolerance": ("abs", "pct"),
    "within_days": ("days",),
    "within_business_days": ("days", "calendar"),
    "contains": ("normalize", "direction"),
    "similarity": ("method", "min", "normalize", "tf"),
}
CONDITION_KEYS = (
    "left",
    "right",
    "op",
    "normalize",
    "abs",
    "pct",
    "days",
    "calendar",
    "direction",
    "method",
    "min",
    "tf",
)
SCORE_KEYS = ("left", "right", "method", "weight", "normalize", "tf")
MAX_GROUP_SIZE = 100_000
MAX_WEIGHT = Decimal(1_000_000)
COMPARE_KEYS = ("left", "right", "abs", "pct", "days", "normalize")
SUM_KEYS = ("left", "right", "abs", "pct")


class Validator(FieldChecks):
    """Turns the parsed document into RuleData, collecting problems instead of stopping at the first."""

    def document(self, raw: Any) -> RuleData | None:
        top = self.mapping(raw, "", "a mapping at the top level (version, name, left, right, passes)")
        if top is None:
            return None
        self.keys(top, "", TOP_KEYS, required=("version", "name", "left", "right", "passes"))
        if "version" in top and (isinstance(top["version"], bool) or top["version"] != 1):
            self.add("version", f"unsupported version {top['version']!r} (only version 1 exists)")
        name = self.text(top["name"], "name") if "name" in top else None
        left = self.side(top.get("left"), "left") if "left" in top else None
        right = self.side(top.get("right"), "right") if "right" in top else None
        columns = self.column_hints(top.get("columns"), "columns")
        duplicates = "flag"
        if "duplicates" in top:
            duplicates = (
                self.choice(top["duplicates"], "duplicates", DUPLICATE_MODES, "duplicates mode") or "flag"
            )
        passes = self.passes(top.get("passes"), "passes") if "passes" in top else ()
        description = top.get("description") if isinstance(top.get("description"), str) else None
        if name is None or left is None or right is None:
            return None
        return RuleData(1, name, left, right, columns, passes, duplicates, description)

    def side(self, raw: Any, location: str) -> SideSpec | None:
        if isinstance(raw, str) and raw.strip():
            return SideSpec(id=raw)
        spec = self.mapping(raw, location, "a mapping like {id: id}")
        if spec is None:
            return None
        self.keys(spec, location, SIDE_KEYS, required=("id",))
        record_id = self.text(spec["id"], join(location, "id")) if "id" in spec else None
        amount = self.text(spec["amount"], join(location, "amount")) if "amount" in spec else None
        read = self.mapping(spec["read"], join(location, "read")) if "read" in spec else None
        return SideSpec(record_id, amount, read) if record_id else None

    def column_hints(self, raw: Any, location: str) -> dict[str, str]:
        if raw is None:
            return {}
        hints = self.mapping(raw, location, "a mapping of column: type")
        result: dict[str, str] = {}
        for column, kind in (hints or {}).items():
            chosen = self.choice(kind, join(location, str(column)), COLUMN_TYPES, "column type")
            if chosen:
                result[str(column)] = chosen
        return result

    def passes(self, raw: Any, location: str) -> tuple[PassSpec, ...]:
        if not isinstance(raw, list) or not raw:
            self.add(location, f"expected a non-empty list of passes, got {describe(raw)}")
            return ()
        result: list[PassSpec] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(raw):
            spec = self.one_pass(item, index)
            name = item.get("name") if isinstance(item, Mapping) else None
            if isinstance(name, str) and name in seen:
                self.add(
                    join(join(location, index), "name"),
                    f"duplicate pass name '{name}' (also used by passes[{seen[name]}])",
                )
            if isinstance(name, str):
                seen.setdefault(name, index)
            if spec is not None:
                result.append(spec)
        return tuple(result)

    def one_pass(self, raw: Any, index: int) -> PassSpec | None:
        location = f"passes[{index}]"
        spec = self.mapping(raw, location)
        if spec is None:
            return None
        kind = self.choice(spec["kind"], join(location, "kind"), KINDS, "kind") if "kind" in spec else None
        grouped = kind in GROUPED_KINDS
        allowed = PASS_KEYS + GROUPED_PASS_KEYS if grouped or kind is None else PASS_KEYS
        only_grouped = "is only allowed for grouped kinds (one_to_many, many_to_one, many_to_many)"
        elsewhere = {key: only_grouped for key in GROUPED_PASS_KEYS} if kind == "one_to_one" else {}
        required = ("name", "kind", "sum") if grouped else ("name", "kind")
        self.keys(spec, location, allowed, required=required, elsewhere=elsewhere)
        name = self.text(spec["name"], join(location, "name")) if "name" in spec else None
        group_by = self.text_list(spec["group_by"], join(location, "group_by")) if "group_by" in spec else ()
        needs_match = not (grouped and group_by)
        match = self.conditions(spec.get("match"), join(location, "match"), required=needs_match)
        score = self.score_items(spec.get("score"), join(location, "score"))
        compare = self.compare_items(spec.get("compare"), join(location, "compare"))
        max_group_size = 10
        if "max_group_size" in spec:
            max_group_size = (
                self.integer(spec["max_group_size"], join(location, "max_group_size"), 2, MAX_GROUP_SIZE)
                or 10
            )
        sum_spec = self.sum_spec(spec["sum"], join(location, "sum")) if "sum" in spec and grouped else None
        flags = {
            key: self.boolean(spec[key], join(location, key))
            for key in ("suggest", "date_evidence")
            if key in spec
        }
        margin = self.ratio(spec, "margin", location)
        if name is None or kind is None:
            return None
        return PassSpec(
            index=index,
            name=name,
            kind=kind,
            match=match,
            score=score,
            min_score=self.ratio(spec, "min_score", location),
            compare=compare,
            group_by=group_by,
            max_group_size=max_group_size,
            sum=sum_spec,
            suggest=bool(flags.get("suggest")),
            suggest_below=self.ratio(spec, "suggest_below", location),
            description=spec.get("description") if isinstance(spec.get("description"), str) else None,
            margin=DEFAULT_MARGIN if margin is None else margin,
            date_evidence=bool(flags.get("date_evidence", True)),
        )

    def items(self, raw: Any, location: str, required: bool) -> list[tuple[str, dict[str, Any]]]:
        if raw is None and not required:
            return []
        if not isinstance(raw, list) or (required and not raw):
            self.add(location, f"expected a non-empty list of conditions, got {describe(raw)}")
            return []
        result = []
        for index, item in enumerate(raw):
            spec = self.mapping(item, join(location, index))
            if spec is not None:
                result.append((join(location, index), spec))
        return result

    def conditions(self, raw: Any, location: str, required: bool) -> tuple[Condition, ...]:
        result = []
        for where, spec in self.items(raw, location, required):
            op = self.choice(spec["op"], join(where, "op"), OPS, "op") if "op" in spec else None
            allowed = ("left", "right", "op", *OP_KEYS[op]) if op else CONDITION_KEYS
            elsewhere = {
                key: f"does not apply to op '{op}'" for key in CONDITION_KEYS if op and key not in allowed
            }
            self.keys(spec, where, allowed, ("left", "right", "op"), elsewhere=elsewhere, hints=OPS)
            left, right = self.sides(spec, where)
            normalize = self.text_normalizers(spec, where, default=op == "similarity")
            abs_value, pct_value = self.amount_tolerance(spec, where, required=op == "tolerance")
            days = self.days(spec, where)
            if op in ("within_days", "within_business_days") and "days" not in spec:
                self.add(where, "missing required key 'days'")
            calendar = (
                self.calendar(spec["calendar"], join(where, "calendar")) if "calendar" in spec else None
            )
            tf = self.boolean(spec["tf"], join(where, "tf")) if "tf" in spec else True
            method, minimum = None, None
            if op == "similarity":
                for key in ("method", "min"):
                    if key not in spec:
                        self.add(where, f"missing required key '{key}'")
                if "method" in spec:
                    method = self.choice(spec["method"], join(where, "method"), METHODS, "method")
                minimum = self.ratio(spec, "min", where)
            direction = "left_contains_right"
            if "direction" in spec:
                direction = (
                    self.choice(spec["direction"], join(where, "direction"), DIRECTIONS, "direction") or ""
                )
            if op:
                result.append(
                    Condition(
                        left,
                        right,
                        op,
                        where,
                        normalize,
                        abs_value,
                        pct_value,
                        days,
                        method,
                        minimum,
                        direction,
                        calendar,
                        tf is not False,
                    )
                )
        return tuple(result)

    def score_items(self, raw: Any, location: str) -> tuple[ScoreItem, ...]:
        result = []
        for where, spec in self.items(raw, location, required=False):
            self.keys(spec, where, SCORE_KEYS, ("left", "right", "method"), hints=METHODS)
            left, right = self.sides(spec, where)
            method = (
                self.choice(spec["method"], join(where, "method"), METHODS, "method")
                if "method" in spec
                else None
            )
            weight = Decimal(1)
            if "weight" in spec:
                weight = self.number(
                    spec["weight"], join(where, "weight"), positive=True, high=MAX_WEIGHT
                ) or Decimal(1)
            normalize = self.text_normalizers(spec, where, default=True)
            tf = self.boolean(spec["tf"], join(where, "tf")) if "tf" in spec else True
            if method:
                result.append(
                    ScoreItem(left, right, method, where, float(weight), normalize, tf is not False)
                )
        return tuple(result)

    def compare_items(self, raw: Any, location: str) -> tuple[CompareItem, ...]:
        result = []
        for where, spec in self.items(raw, location, required=False):
            self.keys(spec, where, COMPARE_KEYS, ("left", "right"))
            left, right = self.sides(spec, where)
            if len([key for key in ("abs", "pct", "days") if key in spec]) > 1:
                self.add(where, "give at most one of 'abs', 'pct' or 'days'")
            if "normalize" in spec and any(key in spec for key in ("abs", "pct", "days")):
                self.add(where, "'normalize' applies only to equality comparisons (no abs/pct/days)")
            abs_value, pct_value = self.amount_tolerance(spec, where, required=False)
            normalize = self.normalizers(spec.get("normalize"), join(where, "normalize"))
            result.append(
                CompareItem(left, right, where, abs_value, pct_value, self.days(spec, where), normalize)
            )
        return tuple(result)

    def text_normalizers(self, spec: Mapping[str, Any], where: str, default: bool) -> tuple[str, ...]:
        """The item's normalizers; similarity items without a `normalize` key get the default text form."""
        if "normalize" not in spec:
            return DEFAULT_TEXT_NORMALIZE if default else ()
        return self.normalizers(spec["normalize"], join(where, "normalize"))

    def sum_spec(self, raw: Any, location: str) -> SumSpec | None:
        spec = self.mapping(raw, location, "a mapping like {left: amount, right: amount, abs: 0.01}")
        if spec is None:
            return None
        self.keys(spec, location, SUM_KEYS, ("left", "right"))
        left, right = self.sides(spec, location)
        abs_value, pct_value = self.amount_tolerance(spec, location, required=True)
        return SumSpec(left, right, location, abs_value, pct_value)
