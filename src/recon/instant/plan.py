"""What instant reconciliation runs of a rule set, in plain Python (the API process has no data stack).

Supported: `one_to_one` passes whose conditions are `equals` (with normalisers), `tolerance` and
`within_days` on canonical columns, with `compare`, `suggest`, `suggest_below`, `margin`, `min_score` and
`exact` score items (a scored pass with a date window weighs the date difference like a run: ADR 0020).
The blocking key of a pass is its normalised `equals` values plus, for an absolute `tolerance`, the
amount's bucket of that width (a value meets its own and the two neighbouring buckets), so a lookup reads
only the items that can match. Other passes (grouped kinds, similarity, contains, business days,
similarity score items, extra columns) are skipped and named in the response: the engine's runs do those.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from functools import lru_cache
from typing import Any

from recon.engine import RuleSet
from recon.engine.date_levels import date_window
from recon.engine.model import Condition, PassSpec, ScoreItem
from recon.engine.transliterate import transliterate_text

# The engine's side columns (recon.datasets.bulk.ARROW_CANONICAL) that open items keep.
COLUMNS = ("id", "date", "value_date", "amount", "currency", "reference", "counterparty", "description")
SUPPORTED_OPS = ("equals", "tolerance", "within_days")
SEP = "\x1f"

Record = Mapping[str, Any]


_NON_WORD = re.compile(r"[\W_]+")
_DOTS = re.compile(r"[.'’]+")
_NON_DIGITS = re.compile(r"[^0-9]+")
_SPACES = re.compile(r"\s+")
_ZEROS = re.compile(r"^0+(.)")


def _words(text: str) -> str:
    return _NON_WORD.sub(" ", _DOTS.sub("", text)).strip(" ")


# Compiled once: these run for every key of every transaction (tens of thousands per request).
_NORMALIZERS: dict[str, Callable[[str], str]] = {
    "trim": lambda s: s.strip(" "),
    "upper": str.upper,
    "lower": str.lower,
    "digits": lambda s: _NON_DIGITS.sub("", s),
    "alnum": lambda s: "".join(c for c in s if c.isalnum()),
    "collapse_spaces": lambda s: _SPACES.sub(" ", s).strip(" "),
    "strip_leading_zeros": lambda s: _ZEROS.sub(r"\1", s),
    "transliterate": transliterate_text,
    "words": _words,
}


def canonical(value: Any) -> str | None:
    """The text an `equals` compares: decimals by value (12.50 == 12.5), dates in ISO form."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def normalized(value: Any, steps: tuple[str, ...]) -> str | None:
    text = canonical(value)
    if text is None:
        return None
    for step in _chain(steps):
        text = step(text)
    return text or None  # empty text never matches


def _normalized(value: Any, chain: tuple[Callable[[str], str], ...]) -> str | None:
    text = canonical(value)
    if text is None:
        return None
    for step in chain:
        text = step(text)
    return text or None


@lru_cache(maxsize=256)
def _chain(steps: tuple[str, ...]) -> tuple[Callable[[str], str], ...]:
    return tuple(_NORMALIZERS[step] for step in steps)


@dataclass(frozen=True)
class InstantPass:
    spec: PassSpec
    number: int  # its position among the rule set's passes (keys are stored per pass)
    item_side: str  # "left" or "right": the side of the open items
    equals: tuple[Condition, ...]
    bucket: Condition | None  # the absolute tolerance whose buckets join the key
    # Derived once (__post_init__): what keys() and holds() read per record, so that the per-transaction
    # work is plain lookups (tens of thousands of calls per request).
    _key_columns: dict[str, tuple[tuple[str, tuple[Callable[[str], str], ...]], ...]] = field(
        init=False, repr=False, compare=False
    )
    _bucket_columns: dict[str, str] = field(init=False, repr=False, compare=False)
    _equal_checks: tuple[tuple[str, str, tuple[Callable[[str], str], ...]], ...] = field(
        init=False, repr=False, compare=False
    )
    _other_checks: tuple[tuple[str, str, str, Condition], ...] = field(init=False, repr=False, compare=False)
    _separators: int = field(init=False, repr=False, compare=False)
    _scores: tuple[tuple[str, str, tuple[Callable[[str], str], ...], float], ...] = field(
        init=False, repr=False, compare=False
    )
    # (on the left side, on the right side, days) of the date window weighed as evidence (ADR 0020), if any
    date_window: tuple[str, str, int] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        def columns(cond: Condition | ScoreItem) -> tuple[str, str]:  # (on the items, on the transactions)
            return (cond.left, cond.right) if self.item_side == "left" else (cond.right, cond.left)

        key_columns = {
            of: tuple((columns(c)[index], _chain(c.normalize)) for c in self.equals)
            for of, index in (("item", 0), ("txn", 1))
        }
        object.__setattr__(self, "_key_columns", key_columns)
        if self.bucket is not None:
            item_column, txn_column = columns(self.bucket)
            object.__setattr__(self, "_bucket_columns", {"item": item_column, "txn": txn_column})
        else:
            object.__setattr__(self, "_bucket_columns", {})
        equal_checks = tuple((*columns(c), _chain(c.normalize)) for c in self.spec.match if c.op == "equals")
        other_checks = tuple((c.op, *columns(c), c) for c in self.spec.match if c.op != "equals")
        object.__setattr__(self, "_equal_checks", equal_checks)
        object.__setattr__(self, "_other_checks", other_checks)
        object.__setattr__(self, "_separators", len(self.equals) - (0 if self.bucket is not None else 1))
        scores = tuple((*columns(s), _chain(s.normalize), s.weight) for s in self.spec.score)
        object.__setattr__(self, "_scores", scores)
        window = date_window(self.spec)
        if window is not None:
            cond = self.spec.match[window[0]]
            object.__setattr__(self, "date_window", (cond.left, cond.right, window[1]))
        else:
            object.__setattr__(self, "date_window", None)

    def column(self, cond: Condition, of: str) -> str:
        """The column of `cond` on the items (`of="item"`) or on the transactions."""
        left_is_item = self.item_side == "left"
        return cond.left if (of == "item") == left_is_item else cond.right

    def unambiguous(self, key: str) -> bool:
        """No value of the key contained the separator, so equal keys mean equal `equals` values."""
        return key.count(SEP) == self._separators

    def keys(self, record: Record, of: str, *, probe: bool = False) -> list[str]:
        """The blocking keys of a record: one for an item; three (neighbouring buckets) for a probe."""
        parts = []
        for column, chain in self._key_columns[of]:  # normalized(), inlined
            value = record.get(column)
            if value is None:
                return []
            text: str = value if type(value) is str else (canonical(value) or "")
            for step in chain:
                text = step(text)
            if not text:  # empty text never matches
                return []
            parts.append(text)
        if self.bucket is None:
            return [SEP.join(parts)]
        amount = record.get(self._bucket_columns[of])
        if amount is None:
            return []
        width = self.bucket.abs or Decimal(0)
        if not width:
            return [SEP.join([*parts, canonical(amount) or ""])]
        slot = int((amount / width).to_integral_value(ROUND_FLOOR))
        if not probe:
            return [SEP.join([*parts, str(slot)])]
        head = SEP.join(parts) + SEP if parts else ""
        return [f"{head}{slot - 1}", f"{head}{slot}", f"{head}{slot + 1}"]

    def holds(self, item: Record, txn: Record, *, same_key: bool = False) -> float | None:
        """The candidate's score (closeness of tolerances and windows, 1.0 without them), None if a
        condition fails. `same_key`: met through an unambiguous blocking key (no value held the
        separator), so the `equals` conditions hold already."""
        if not same_key:
            for item_column, txn_column, chain in self._equal_checks:
                a = _normalized(item.get(item_column), chain)
                if a is None or a != _normalized(txn.get(txn_column), chain):
                    return None
        if not self._other_checks and not self._scores:
            return 1.0
        closeness: list[float] = []
        for op, item_column, txn_column, cond in self._other_checks:
            a, b = item.get(item_column), txn.get(txn_column)
            if a is None or b is None:
                return None
            if op == "tolerance":
                allowed = _allowed(cond.abs, cond.pct, a, b)
                diff = abs(a - b)
                if diff > allowed:
                    return None
                closeness.append(1.0 - float(diff / allowed) if allowed else 1.0)
            elif op == "within_days":
                apart = abs((a - b).days)
                if apart > (cond.days or 0):
                    return None
                closeness.append(1.0 - apart / ((cond.days or 0) + 1))
        if self._scores:  # the score items' weighted mean, as a run scores them (closeness not counted)
            return self._score(item, txn)
        return sum(closeness) / len(closeness) if closeness else 1.0

    def _score(self, item: Record, txn: Record) -> float:
        """`exact` score items: 1 when the normalised values are equal (missing or empty text: 0)."""
        total = weighted = 0.0
        for item_column, txn_column, chain, weight in self._scores:
            a = _normalized(item.get(item_column), chain)
            if a is not None and a == _normalized(txn.get(txn_column), chain):
                weighted += weight
            total += weight
        return weighted / total

    def differences(self, item: Record, txn: Record) -> dict[str, str]:
        """The `compare` items that disagree (a break): {"item column": "item value vs transaction value"}."""
        out: dict[str, str] = {}
        for cmp in self.spec.compare:
            left_is_item = self.item_side == "left"
            a = item.get(cmp.left if left_is_item else cmp.right)
            b = txn.get(cmp.right if left_is_item else cmp.left)
            if a is None or b is None:
                agree = a is b
            elif cmp.abs is not None or cmp.pct is not None:
                agree = abs(a - b) <= _allowed(cmp.abs, cmp.pct, a, b)
            elif cmp.days is not None:
                agree = abs((a - b).days) <= cmp.days
            else:
                agree = normalized(a, cmp.normalize) == normalized(b, cmp.normalize)
            if not agree:
                out[cmp.left if left_is_item else cmp.right] = f"{canonical(a)} vs {canonical(b)}"
        return out


def _allowed(abs_: Decimal | None, pct: Decimal | None, a: Decimal, b: Decimal) -> Decimal:
    if abs_ is not None:
        return abs_
    return max(abs(a), abs(b)) * (pct or Decimal(0)) / 100


@dataclass(frozen=True)
class InstantPlan:
    passes: tuple[InstantPass, ...]
    skipped: tuple[tuple[str, str], ...]  # (pass name, why instant reconciliation does not run it)


def _unsupported(spec: PassSpec) -> str | None:
    if spec.kind != "one_to_one":
        return f"kind {spec.kind} (grouped matching runs in runs only)"
    if any(item.method != "exact" for item in spec.score):
        return "similarity score items (text similarity runs in runs only)"
    for cond in spec.match:
        if cond.op not in SUPPORTED_OPS:
            return f"condition op {cond.op}"
    columns = {c for cond in spec.match for c in (cond.left, cond.right)}
    columns |= {c for item in spec.compare for c in (item.left, item.right)}
    columns |= {c for item in spec.score for c in (item.left, item.right)}
    outside = sorted(columns - set(COLUMNS))
    if outside:
        return f"column {outside[0]!r} is not a canonical field"
    if not any(cond.op == "equals" for cond in spec.match) and not any(
        cond.op == "tolerance" and cond.abs is not None for cond in spec.match
    ):
        return "no equals condition or absolute tolerance to look items up by"
    return None


def build_plan(rules: RuleSet, item_side: str) -> InstantPlan:
    passes: list[InstantPass] = []
    skipped: list[tuple[str, str]] = []
    for number, spec in enumerate(rules.passes):
        reason = _unsupported(spec)
        if reason is not None:
            skipped.append((spec.name, reason))
            continue
        equals = tuple(c for c in spec.match if c.op == "equals")
        bucket = next((c for c in spec.match if c.op == "tolerance" and c.abs is not None), None)
        passes.append(InstantPass(spec, number, item_side, equals, bucket))
    return InstantPlan(tuple(passes), tuple(skipped))
