"""Rules -> per-pass SQL plan: blocking keys, post-join checks, scores, closeness and comparisons.

This module is the one place where passes become SQL (DuckDB dialect, built with recon.engine.sql); the
plan's keys are typed (JoinKey, BandKey), so a backend never parses column names back into meaning.

Blocking (no pass ever compares all pairs):
- every `equals` condition (normalizers applied as SQL) is a hash-join key; `tolerance` with abs 0 and
  `within_days` / `within_business_days` with days 0 are equalities too;
- in addition one *band* key: for grouped kinds the `sum` tolerance (group sum against the other side),
  otherwise the first absolute tolerance, else the first date window, else the first percent tolerance.
  A band buckets values into buckets twice the tolerance wide; the probing (left) side joins the buckets
  its window touches, so candidates within the tolerance always share a bucket;
- a pass with neither blocks on shared normalised word tokens of its first contains/similarity condition,
  ignoring tokens shared by more than TOKEN_PAIR_LIMIT pairs (too common to tell records apart).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import Enum

from recon.engine import sql
from recon.engine.bands import Band
from recon.engine.model import CompareItem, Condition, PassSpec, RuleData, ScoreItem, SumSpec, column_of

TOKEN_PAIR_LIMIT = 10_000
HOT_BLOCK_PAIRS = 16  # a one_to_one block with more pairs needs a shared informative word (see executor)
SIDE_ALIAS = {"left": "l", "right": "r"}
SUM_ALIAS = "__sv"  # a grouped pass's summed column on both sides
WEIGHTED_METHODS = ("jaro_winkler", "levenshtein", "token_set")  # `exact` stays 1 or 0


def condition_alias(index: int) -> str:
    """The operand column of match condition `index` (same name on both sides)."""
    return f"__m{index}"


@dataclass(frozen=True)
class BusinessDays:
    """A derived column: the business-day number of a date (weekends and the calendar's holidays skipped)."""

    calendar: str | None


Derivation = tuple[str, ...] | BusinessDays  # normalizers of a text column, or business days of a date


@dataclass(frozen=True)
class JoinKey:
    """An equality the pass joins on: column `alias` of both sides; `condition` None for the group sum."""

    alias: str
    label: str
    condition: int | None


@dataclass(frozen=True)
class BandKey:
    """The bucketed tolerance the pass joins on: `alias` of both sides; `condition` None for the group sum."""

    band: Band
    alias: str
    condition: int | None


@dataclass(frozen=True)
class TextCompare:
    """A text similarity: `method` over the item's columns with its normalizers; `weighted`: frequency-
    weighted words (recon.engine.frequency), else the method over the whole texts (SQL or rapidfuzz)."""

    method: str
    left_column: str
    right_column: str
    normalize: tuple[str, ...]
    weighted: bool
    alias: str  # the normalized operand column of both sides

    @property
    def sql(self) -> str | None:
        """Similarity SQL over l./r. operands (before the frequency adjustment); None: rapidfuzz."""
        return sql.similarity(self.method, f"l.{self.alias}", f"r.{self.alias}")

    @property
    def vocabulary(self) -> tuple[str, str, tuple[str, ...]]:
        return self.left_column, self.right_column, self.normalize


@dataclass(frozen=True)
class Refine:
    """What crowded blocks of a one_to_one pass must also share: an informative word of a weighted text
    (`text`), or a word of the value a `contains` condition looks for (`contains`: its condition index)."""

    text: TextCompare | None = None
    contains: int | None = None

    def describe(self, spec: PassSpec) -> str:
        if self.text is not None:
            return f"an informative word of {self.text.left_column}/{self.text.right_column}"
        assert self.contains is not None
        cond = spec.match[self.contains]
        return f"a word of {cond.left}/{cond.right} ({cond.op})"


class ItemKind(Enum):
    """Which list of a pass an item comes from."""

    CHECK = "check"  # `match` conditions
    SCORE = "score"
    COMPARE = "compare"


@dataclass(frozen=True)
class ItemKey:
    """One item of a pass (`match[i]`, `score[i]` or `compare[i]`): the key of its per-pair outcomes
    (similarities, comparison results) and the names of its columns in candidate queries."""

    kind: ItemKind
    index: int

    @property
    def column(self) -> str:
        """The item's computed value in a candidate query."""
        return f"__{self.kind.value}{self.index}"

    @property
    def operands(self) -> tuple[str, str]:
        """The item's left and right operands in a candidate query (similarities computed outside SQL)."""
        return f"__l{self.kind.value}{self.index}", f"__r{self.kind.value}{self.index}"


@dataclass(frozen=True)
class Check:
    """A post-join condition; `sql` is None for a similarity computed outside DuckDB (`text`)."""

    index: int
    label: str
    sql: str | None
    minimum: float = 0.0
    text: TextCompare | None = None
    kind: ItemKind = ItemKind.CHECK  # COMPARE for a `compare` item

    @property
    def key(self) -> ItemKey:
        return ItemKey(self.kind, self.index)


@dataclass(frozen=True)
class ScorePart:
    index: int
    label: str
    weight: float
    text: TextCompare

    @property
    def key(self) -> ItemKey:
        return ItemKey(ItemKind.SCORE, self.index)

    @property
    def method(self) -> str:
        return self.text.method

    @property
    def sql(self) -> str | None:
        return self.text.sql


@dataclass(frozen=True)
class PassPlan:
    spec: PassSpec
    columns: dict[str, dict[str, str]]  # side -> {alias: SQL over input columns} to materialise
    raw: dict[str, tuple[str, ...]]  # side -> referenced input columns carried along
    keys: tuple[JoinKey, ...]
    band: BandKey | None
    window: BandKey | None  # one_to_one: a second band of another kind (the date window of an amount band)
    tokens: JoinKey | None  # block on shared words of this operand (similarity/contains-only passes)
    refine: Refine | None  # crowded blocks also need a shared word (see Refine)
    checks: tuple[Check, ...]
    scores: tuple[ScorePart, ...]
    closeness: tuple[str, ...]  # SQL parts over l./r. aliases (a grouped sum part is added by the executor)
    compares: tuple[Check, ...]
    group_by: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        return self.spec.name

    def describe(self) -> str:
        spec = self.spec
        head = f"pass {spec.index + 1} '{spec.name}' ({spec.kind}"
        if spec.group_by:
            head += f", group_by {', '.join(spec.group_by)}"
        if spec.kind != "one_to_one":
            head += f", max_group_size {spec.max_group_size}"
        lines = [head + ")"]
        blocking = [key.label for key in self.keys]
        if self.band:
            blocking.append(self.band.band.describe())
        if self.window:
            blocking.append(self.window.band.describe())
        if self.tokens:
            blocking.append(
                f"shared tokens of {self.tokens.label} (tokens in > {TOKEN_PAIR_LIMIT} pairs ignored)"
            )
        lines.append(f"  blocking keys: {'; '.join(blocking) or 'none'}")
        lines.extend(f"  {note}" for note in self.notes)
        key_labels = {key.label for key in self.keys}
        after = [check.label for check in self.checks if check.label not in key_labels]
        if after:
            lines.append(f"  checks after join: {'; '.join(after)}")
        if spec.sum:
            tol = f"abs {spec.sum.abs}" if spec.sum.abs is not None else f"pct {spec.sum.pct}"
            lines.append(f"  sum: {spec.sum.left} vs {spec.sum.right} within {tol}")
        if self.scores:
            parts = " + ".join(f"{part.weight:g} x {part.label}" for part in self.scores)
            lines.append(f"  score: ({parts}) / {sum(part.weight for part in self.scores):g}")
        else:
            lines.append("  score: closeness of tolerances and date windows (1.0 when there are none)")
        if spec.min_score is not None:
            lines.append(f"  min_score: {spec.min_score}")
        if self.compares:
            lines.append(f"  compare (break when any differs): {'; '.join(c.label for c in self.compares)}")
        if spec.suggest or spec.suggest_below is not None:
            lines.append(
                "  suggested: everything" if spec.suggest else f"  suggested below score {spec.suggest_below}"
            )
        if not spec.suggest:
            lines.append(f"  suggested when a rival scores within {spec.margin:g}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Plan:
    rules: RuleData
    passes: tuple[PassPlan, ...]

    def __str__(self) -> str:
        rules = self.rules
        lines = [
            f"rules '{rules.name}': {len(self.passes)} pass(es), left id '{rules.left.id}', "
            f"right id '{rules.right.id}'",
            "duplicates: "
            + (
                "flag (extra copies of records identical on every column but the id are set aside)"
                if rules.duplicates == "flag"
                else "allow"
            ),
        ]
        lines.extend(pass_plan.describe() for pass_plan in self.passes)
        return "\n".join(lines)


Categories = Mapping[str, str]


def build_plan(rules: RuleData, left: Categories, right: Categories, derive: Derive | None = None) -> Plan:
    """The plan for the given column categories (sql.STRING / NUMBER / DATE / TIMESTAMP / OTHER).

    `derive(side, column, derivation)` may return the name of a precomputed column (normalized text,
    business days); without it the plan uses SQL only (business days then skip weekends but no holidays)."""
    categories = {"left": left, "right": right}
    return Plan(rules, tuple(_plan_pass(spec, categories, derive) for spec in rules.passes))


Derive = Callable[[str, str, Derivation], str]


class _Builder:
    """Collects the per-side columns a pass needs while its conditions are planned."""

    def __init__(self, categories: Mapping[str, Categories], derive: Derive | None) -> None:
        self.categories = categories
        self.derive = derive
        self.columns: dict[str, dict[str, str]] = {"left": {}, "right": {}}
        self.raw: dict[str, list[str]] = {"left": [], "right": []}

    def cat(self, side: str, column: str) -> str:
        return self.categories[side].get(column, sql.STRING)

    def carry(self, side: str, column: str) -> None:
        if column not in self.raw[side]:
            self.raw[side].append(column)

    def text(self, side: str, column: str, normalizers: tuple[str, ...]) -> str:
        """Normalized text operand: a precomputed column when the executor offers one, else SQL."""
        category = self.cat(side, column)
        costly = any(step in sql.REGEX_NORMALIZERS for step in normalizers)
        if self.derive is not None and category == sql.STRING and costly:
            return sql.quote(self.derive(side, column, normalizers))
        return sql.normalized(column, category, normalizers)

    def business_day(self, side: str, column: str, calendar: str | None) -> str:
        if self.derive is not None:
            return sql.quote(self.derive(side, column, BusinessDays(calendar)))
        return sql.business_day(sql.day(column, self.cat(side, column)))

    def texts(self, item: Condition | ScoreItem | CompareItem) -> tuple[str, str]:
        return self.text("left", item.left, item.normalize), self.text("right", item.right, item.normalize)

    def equality(self, item: Condition | CompareItem) -> tuple[str, str]:
        """Typed operands when both sides share a numeric/date type and nothing is normalized, else text."""
        lcat, rcat = self.cat("left", item.left), self.cat("right", item.right)
        if not item.normalize and lcat == rcat and lcat in (sql.NUMBER, sql.DATE, sql.TIMESTAMP):
            return sql.quote(item.left), sql.quote(item.right)
        return self.texts(item)

    def define(self, alias: str, left: str, right: str) -> None:
        self.columns["left"][alias], self.columns["right"][alias] = left, right

    def both(
        self, item: Condition | ScoreItem | CompareItem | SumSpec
    ) -> tuple[tuple[str, str], tuple[str, str]]:
        """Carries both columns of an item and returns ((left column, category), (right column, category))."""
        self.carry("left", item.left)
        self.carry("right", item.right)
        return (item.left, self.cat("left", item.left)), (item.right, self.cat("right", item.right))


def _plan_pass(spec: PassSpec, categories: Mapping[str, Categories], derive: Derive | None) -> PassPlan:
    build = _Builder(categories, derive)
    keys: list[JoinKey] = []
    checks: list[Check] = []
    closeness: list[str] = []
    bands: list[tuple[int, BandKey]] = []  # (preference, band): abs tolerance, date window, pct tolerance
    for i, cond in enumerate(spec.match):
        alias = condition_alias(i)
        la, ra = f"l.{alias}", f"r.{alias}"
        (lcol, lcat), (rcol, rcat) = build.both(cond)
        if cond.op == "equals":
            build.define(alias, *build.equality(cond))
            label = f"{_named(lcol, cond.normalize)} = {_named(rcol, cond.normalize)}"
            keys.append(JoinKey(alias, label, i))
            checks.append(Check(i, label, f"{la} = {ra}"))
        elif cond.op == "tolerance":
            build.define(alias, sql.number(lcol, lcat), sql.number(rcol, rcat))
            label = _tolerance_label(lcol, rcol, cond.abs, cond.pct)
            checks.append(Check(i, label, sql.within_amount(f"{la} - {ra}", la, ra, cond.abs, cond.pct)))
            closeness.append(sql.amount_closeness(la, ra, cond.abs, cond.pct))
            tol = cond.abs if cond.abs is not None else cond.pct
            assert tol is not None
            if tol == 0:
                keys.append(JoinKey(alias, f"{lcol} = {rcol}", i))
            else:
                kind = "abs" if cond.abs is not None else "pct"
                bands.append((0 if kind == "abs" else 2, BandKey(Band(kind, tol, label), alias, i)))
        elif cond.op in ("within_days", "within_business_days"):
            days = cond.days or 0
            business = cond.op == "within_business_days"
            if business:
                build.define(
                    alias,
                    build.business_day("left", lcol, cond.calendar),
                    build.business_day("right", rcol, cond.calendar),
                )
                unit = "business days" + (f" ({cond.calendar} holidays)" if cond.calendar else "")
            else:
                build.define(alias, sql.day(lcol, lcat), sql.day(rcol, rcat))
                unit = "days"
            label = f"{rcol} - {lcol} within {days} {unit}"
            checks.append(Check(i, label, f"abs({ra} - {la}) <= {days}"))
            closeness.append(sql.days_closeness(la, ra, days))
            if days == 0:
                keys.append(JoinKey(alias, f"{lcol} = {rcol} ({unit})", i))
            else:
                days_band = Band("units" if business else "days", days, label)
                bands.append((1, BandKey(days_band, alias, i)))
        else:
            build.define(alias, *build.texts(cond))
            checks.append(_text_check(i, cond, la, ra))
    band: BandKey | None = None
    notes: list[str] = []
    grouped_by = spec.kind != "one_to_one" and bool(spec.group_by)
    if spec.sum is not None:
        (lcol, lcat), (rcol, rcat) = build.both(spec.sum)
        build.define(SUM_ALIAS, sql.number(lcol, lcat), sql.number(rcol, rcat))
    if grouped_by:
        assert spec.sum is not None
        keys = [key for key in keys if key.condition is not None and _on_group_columns(spec, key.condition)]
        sum_label = _tolerance_label(f"sum({spec.sum.left})", spec.sum.right, spec.sum.abs, spec.sum.pct)
        if spec.kind == "one_to_many":
            sum_label = _tolerance_label(spec.sum.left, f"sum({spec.sum.right})", spec.sum.abs, spec.sum.pct)
        elif spec.kind == "many_to_many":
            sum_label = _tolerance_label(
                f"sum({spec.sum.left})", f"sum({spec.sum.right})", spec.sum.abs, spec.sum.pct
            )
        tol = spec.sum.abs if spec.sum.abs is not None else spec.sum.pct
        assert tol is not None
        if tol == 0:
            keys.append(JoinKey(SUM_ALIAS, sum_label.replace("| <= 0", "| = 0"), None))
        else:
            kind = "abs" if spec.sum.abs is not None else "pct"
            band = BandKey(Band(kind, tol, sum_label), SUM_ALIAS, None)
        for side in spec.many_sides:
            for column in spec.group_by:
                build.carry(side, column)
        sides = " and ".join(spec.many_sides)
        notes.append(
            f"groups: {sides} records grouped by {', '.join(spec.group_by)} (1..{spec.max_group_size})"
        )
    elif bands:
        band = min(bands, key=lambda item: item[0])[1]
    window = None
    if band is not None and spec.kind == "one_to_one":
        others = [
            key for _, key in sorted(bands, key=lambda item: item[0]) if key.band.kind != band.band.kind
        ]
        window = others[0] if others else None
    if spec.kind in ("many_to_one", "one_to_many") and not grouped_by:
        notes.append(
            f"groups: subset search over the 24 nearest candidates, 2..{spec.max_group_size} members"
        )
    elif spec.kind == "many_to_many" and not grouped_by:
        notes.append(f"groups: connected candidate components, up to {spec.max_group_size} per side")
    tokens = _token_block(spec) if not keys and band is None else None
    scores, compares = _score_parts(spec, build), _compare_checks(spec, build)
    refine = _refine(spec, scores, checks) if spec.kind == "one_to_one" and (keys or band) else None
    if refine is not None:
        notes.append(f"crowded blocks (> {HOT_BLOCK_PAIRS} pairs) also need {refine.describe(spec)}")
    return PassPlan(
        spec=spec,
        columns=build.columns,
        raw={side: tuple(names) for side, names in build.raw.items()},
        keys=tuple(keys),
        band=band,
        window=window,
        tokens=tokens,
        refine=refine,
        checks=tuple(checks),
        scores=scores,
        closeness=tuple(closeness),
        compares=compares,
        group_by=spec.group_by,
        notes=tuple(notes),
    )


def within_groups_plan(
    plan: PassPlan, categories: Mapping[str, Categories], derive: Derive | None
) -> PassPlan | None:
    """The plan of a group_by pass's second step, a subset search inside the groups that matched nothing
    whole (see recon.engine.groups): the same conditions on record pairs, without group_by; crowded blocks
    also need an informative word of its weighted text (as one_to_one passes), so the pairs stay linear.
    None when no condition can block record pairs (the groups were found by their sums alone)."""
    spec = replace(plan.spec, group_by=())
    ungrouped = _plan_pass(spec, categories, derive)
    if not ungrouped.keys and ungrouped.band is None:
        return None if ungrouped.tokens is None else ungrouped  # no blocking key of record pairs: no step
    return replace(ungrouped, refine=_refine(spec, ungrouped.scores, list(ungrouped.checks)))


def _refine(spec: PassSpec, scores: tuple[ScorePart, ...], checks: list[Check]) -> Refine | None:
    weighted = [part.text for part in scores if part.text.weighted]
    weighted += [check.text for check in checks if check.text is not None and check.text.weighted]
    if weighted:
        return Refine(text=weighted[0])
    for i, cond in enumerate(spec.match):
        if cond.op == "contains" and cond.direction != "either":
            return Refine(contains=i)
    return None


def _named(column: str, normalizers: tuple[str, ...]) -> str:
    return sql.normalized_label(column, normalizers)


def _on_group_columns(spec: PassSpec, index: int) -> bool:
    """True when the condition's column on every grouped side is a group_by column."""
    cond = spec.match[index]
    return all(column_of(cond, side) in spec.group_by for side in spec.many_sides)


def _tolerance_label(left: str, right: str, abs_tol: Decimal | None, pct_tol: Decimal | None) -> str:
    return f"|{left} - {right}| <= {abs_tol}" if abs_tol is not None else f"|{left} - {right}| <= {pct_tol}%"


def _text_check(index: int, cond: Condition, la: str, ra: str) -> Check:
    lname, rname = _named(cond.left, cond.normalize), _named(cond.right, cond.normalize)
    if cond.op == "contains":
        forward, backward = f"contains({la}, {ra})", f"contains({ra}, {la})"
        predicate = {"left_contains_right": forward, "right_contains_left": backward}.get(
            cond.direction, f"({forward} OR {backward})"
        )
        return Check(index, f"{lname} contains {rname} ({cond.direction})", f"coalesce({predicate}, false)")
    method = cond.method or "exact"
    minimum = cond.min if cond.min is not None else 0.0
    text = _text_compare(method, cond, condition_alias(index))
    weighted = " (frequency-weighted)" if text.weighted else ""
    label = f"{method}({lname}, {rname}) >= {minimum}{weighted}"
    expr = text.sql
    # A frequency-weighted similarity is known only after the join: the check runs in the executor.
    where = None if expr is None or text.weighted else f"{expr} >= {minimum!r}"
    return Check(index, label, where, minimum, text)


def _text_compare(method: str, item: Condition | ScoreItem, alias: str) -> TextCompare:
    weighted = item.tf and method in WEIGHTED_METHODS
    return TextCompare(method, item.left, item.right, item.normalize, weighted, alias)


def _token_block(spec: PassSpec) -> JoinKey | None:
    for i, cond in enumerate(spec.match):
        if cond.op in ("contains", "similarity"):
            label = f"{_named(cond.left, cond.normalize)} ~ {_named(cond.right, cond.normalize)}"
            return JoinKey(condition_alias(i), label, i)
    return None


def _score_parts(spec: PassSpec, build: _Builder) -> tuple[ScorePart, ...]:
    parts = []
    for i, item in enumerate(spec.score):
        alias = f"__s{i}"
        (lcol, _), (rcol, _) = build.both(item)
        build.define(alias, *build.texts(item))
        text = _text_compare(item.method, item, alias)
        weighted = ", frequency-weighted" if text.weighted else ""
        label = f"{item.method}({_named(lcol, item.normalize)}, {_named(rcol, item.normalize)}{weighted})"
        parts.append(ScorePart(i, label, item.weight, text))
    return tuple(parts)


def _compare_checks(spec: PassSpec, build: _Builder) -> tuple[Check, ...]:
    checks = []
    for i, item in enumerate(spec.compare):
        alias, la, ra = f"__c{i}", f"l.__c{i}", f"r.__c{i}"
        (lcol, lcat), (rcol, rcat) = build.both(item)
        if item.abs is not None or item.pct is not None:
            build.define(alias, sql.number(lcol, lcat), sql.number(rcol, rcat))
            label = _tolerance_label(lcol, rcol, item.abs, item.pct)
            predicate = sql.within_amount(f"{la} - {ra}", la, ra, item.abs, item.pct)
        elif item.days is not None:
            build.define(alias, sql.day(lcol, lcat), sql.day(rcol, rcat))
            label = f"{rcol} - {lcol} within {item.days} days"
            predicate = f"abs({ra} - {la}) <= {item.days}"
        else:
            build.define(alias, *build.equality(item))
            label = f"{_named(lcol, item.normalize)} = {_named(rcol, item.normalize)}"
            predicate = f"{la} IS NOT DISTINCT FROM {ra}"
        checks.append(Check(i, label, f"coalesce({predicate}, false)", kind=ItemKind.COMPARE))
    return tuple(checks)
