"""Immutable rule model (what validation produces and the planner consumes)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

KINDS = ("one_to_one", "one_to_many", "many_to_one", "many_to_many")
GROUPED_KINDS = ("one_to_many", "many_to_one", "many_to_many")
OPS = ("equals", "tolerance", "within_days", "within_business_days", "contains", "similarity")
METHODS = ("jaro_winkler", "levenshtein", "token_set", "exact")
NORMALIZERS = (
    "trim",
    "upper",
    "lower",
    "alnum",
    "digits",
    "collapse_spaces",
    "strip_leading_zeros",
    "transliterate",
    "words",
)
# What similarity methods and the `similarity` op compare when an item gives no `normalize` list: text
# without case, accents (transliterated: ä -> ae, ß -> ss, é -> e) or punctuation, in single-spaced words.
DEFAULT_TEXT_NORMALIZE = ("transliterate", "upper", "words")
DEFAULT_MARGIN = 0.05  # a rival scoring within this of the chosen pair makes it `suggested`
COLUMN_TYPES = ("decimal", "date", "string", "integer")
DUPLICATE_MODES = ("flag", "allow")
DIRECTIONS = ("left_contains_right", "right_contains_left", "either")
SIDES = ("left", "right")


@dataclass(frozen=True)
class Problem:
    """One validation problem: where it is and what is wrong."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class RulesError(ValueError):
    """Invalid rules (or rules that do not fit the input columns). Lists every problem found."""

    def __init__(self, problems: list[Problem], source: str = "rules") -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(f"{self.source}: {problem}" for problem in self.problems)


@dataclass(frozen=True)
class SideSpec:
    id: str
    amount: str | None = None
    read: dict[str, Any] | None = None


@dataclass(frozen=True)
class Condition:
    """A `match` condition; every condition of a pass must hold for a candidate."""

    left: str
    right: str
    op: str
    location: str
    normalize: tuple[str, ...] = ()
    abs: Decimal | None = None
    pct: Decimal | None = None
    days: int | None = None
    method: str | None = None
    min: float | None = None
    direction: str = "left_contains_right"
    calendar: str | None = None  # within_business_days: holidays of this country (code, e.g. DE or DE-BY)
    tf: bool = True  # similarity: common words count less than rare ones (see recon.engine.frequency)


@dataclass(frozen=True)
class ScoreItem:
    left: str
    right: str
    method: str
    location: str
    weight: float = 1.0
    normalize: tuple[str, ...] = ()
    tf: bool = True


@dataclass(frozen=True)
class CompareItem:
    """A field that should agree; abs/pct for numbers, days for dates, otherwise equality."""

    left: str
    right: str
    location: str
    abs: Decimal | None = None
    pct: Decimal | None = None
    days: int | None = None
    normalize: tuple[str, ...] = ()


@dataclass(frozen=True)
class SumSpec:
    left: str
    right: str
    location: str
    abs: Decimal | None = None
    pct: Decimal | None = None


@dataclass(frozen=True)
class PassSpec:
    index: int
    name: str
    kind: str
    match: tuple[Condition, ...]
    score: tuple[ScoreItem, ...] = ()
    min_score: float | None = None
    compare: tuple[CompareItem, ...] = ()
    group_by: tuple[str, ...] = ()
    max_group_size: int = 10
    sum: SumSpec | None = None
    suggest: bool = False
    suggest_below: float | None = None
    description: str | None = None
    margin: float = DEFAULT_MARGIN
    date_evidence: bool = True  # scored one_to_one passes weigh the date difference (recon.engine.dates)

    @property
    def location(self) -> str:
        return f"passes[{self.index}]"

    @property
    def many_sides(self) -> tuple[str, ...]:
        """The side(s) whose records are grouped: left for many_to_one, right for one_to_many."""
        return {"many_to_one": ("left",), "one_to_many": ("right",), "many_to_many": ("left", "right")}.get(
            self.kind, ()
        )


@dataclass(frozen=True)
class RuleData:
    """The validated content of a rules file (RuleSet adds behaviour on top)."""

    version: int
    name: str
    left: SideSpec
    right: SideSpec
    columns: dict[str, str]
    passes: tuple[PassSpec, ...]
    duplicates: str = "flag"
    description: str | None = None


def column_of(item: Condition | ScoreItem | CompareItem | SumSpec, side: str) -> str:
    return item.left if side == "left" else item.right
