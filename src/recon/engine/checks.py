"""Field-level checks for rule validation: each problem is recorded with its location, none stops the run."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from recon.engine.model import NORMALIZERS, Problem

# Bounds that keep every value compilable to SQL literals (DECIMAL(38, x), 32-bit day counts).
MAX_DAYS = 36_500
MAX_AMOUNT = Decimal(10) ** 15
MAX_DECIMALS = 10


def suggestion(word: str, allowed: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for a near miss, else ''."""
    allowed = list(allowed)
    close = difflib.get_close_matches(word, allowed, n=1, cutoff=0.6)
    if not close and len(word) >= 2:
        close = [name for name in allowed if name.lower().startswith(word.lower())][:1]
    return f" (did you mean '{close[0]}'?)" if close else ""


def join(location: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{location}[{key}]"
    return f"{location}.{key}" if location else key


class FieldChecks:
    """Primitive checks; every failure becomes a Problem and the caller carries on."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, location: str, message: str) -> None:
        self.problems.append(Problem(location, message))

    # -- primitive checks -------------------------------------------------------------------------
    def mapping(self, value: Any, location: str, what: str = "a mapping") -> dict[str, Any] | None:
        if not isinstance(value, Mapping):
            self.add(location, f"expected {what}, got {describe(value)}")
            return None
        return dict(value)

    def keys(
        self,
        mapping: Mapping[str, Any],
        location: str,
        allowed: Iterable[str],
        required: Iterable[str] = (),
        *,
        elsewhere: Mapping[str, str] | None = None,
        hints: Iterable[str] = (),
    ) -> None:
        """Unknown keys (with did-you-mean over allowed + hints), keys valid only elsewhere, missing keys."""
        allowed = tuple(allowed)
        elsewhere = elsewhere or {}
        for key in mapping:
            if not isinstance(key, str):
                self.add(location, f"keys must be text, got {describe(key)}")
            elif key in elsewhere:
                self.add(location, f"key '{key}' {elsewhere[key]}")
            elif key not in allowed:
                self.add(location, f"unknown key '{key}'{suggestion(key, (*allowed, *hints))}")
        for key in required:
            if key not in mapping:
                self.add(location, f"missing required key '{key}'")

    def text(self, value: Any, location: str) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.add(location, f"expected non-empty text, got {describe(value)}")
            return None
        return value

    def choice(self, value: Any, location: str, allowed: tuple[str, ...], what: str) -> str | None:
        if not isinstance(value, str):
            self.add(location, f"expected one of {', '.join(allowed)}, got {describe(value)}")
            return None
        if value not in allowed:
            self.add(location, f"unknown {what} '{value}'{suggestion(value, allowed)}")
            return None
        return value

    def number(
        self,
        value: Any,
        location: str,
        *,
        low: Decimal | None = None,
        high: Decimal | None = None,
        positive: bool = False,
    ) -> Decimal | None:
        parsed: Decimal | None = None
        if isinstance(value, bool) or value is None:
            parsed = None
        elif isinstance(value, int | float | str):
            try:
                parsed = Decimal(str(value).strip())
            except InvalidOperation:
                parsed = None
            if parsed is not None and not parsed.is_finite():
                parsed = None
        if parsed is None:
            self.add(location, f"expected a number, got {describe(value)}")
            return None
        if positive and parsed <= 0:
            self.add(location, f"must be greater than 0, got {value}")
            return None
        if (low is not None and parsed < low) or (high is not None and parsed > high):
            bounds = f"between {low} and {high}" if low is not None and high is not None else ""
            bounds = bounds or (f"at least {low}" if low is not None else f"at most {high}")
            self.add(location, f"must be {bounds}, got {value}")
            return None
        exponent = parsed.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > MAX_DECIMALS:
            self.add(location, f"at most {MAX_DECIMALS} decimal places, got {value}")
            return None
        return parsed

    def integer(self, value: Any, location: str, low: int, high: int | None = None) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(location, f"expected a whole number, got {describe(value)}")
            return None
        if value < low:
            self.add(location, f"must be at least {low}, got {value}")
            return None
        if high is not None and value > high:
            self.add(location, f"must be at most {high:,}, got {value:,}")
            return None
        return value

    def boolean(self, value: Any, location: str) -> bool | None:
        if not isinstance(value, bool):
            self.add(location, f"expected true or false, got {describe(value)}")
            return None
        return value

    def text_list(self, value: Any, location: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            self.add(location, f"expected a non-empty list of column names, got {describe(value)}")
            return ()
        names = [self.text(item, join(location, i)) for i, item in enumerate(value)]
        return tuple(name for name in names if name is not None)

    def normalizers(self, value: Any, location: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.add(location, f"expected a list of normalizers, got {describe(value)}")
            return ()
        names = [
            self.choice(item, join(location, i), NORMALIZERS, "normalizer") for i, item in enumerate(value)
        ]
        return tuple(name for name in names if name is not None)

    def ratio(self, mapping: Mapping[str, Any], key: str, location: str) -> float | None:
        if key not in mapping:
            return None
        value = self.number(mapping[key], join(location, key), low=Decimal(0), high=Decimal(1))
        return None if value is None else float(value)

    def amount_tolerance(
        self, mapping: Mapping[str, Any], location: str, required: bool
    ) -> tuple[Decimal | None, Decimal | None]:
        given = [key for key in ("abs", "pct") if key in mapping]
        if len(given) > 1:
            self.add(location, "give either 'abs' or 'pct', not both")
        elif required and not given:
            self.add(location, "missing required key 'abs' or 'pct' (the allowed difference)")
        abs_value = pct_value = None
        if "abs" in mapping:
            abs_value = self.number(mapping["abs"], join(location, "abs"), low=Decimal(0))
        if "pct" in mapping:
            pct_value = self.number(mapping["pct"], join(location, "pct"), low=Decimal(0))
            if pct_value is not None and pct_value >= 100:
                self.add(join(location, "pct"), f"must be below 100 (a percentage), got {mapping['pct']}")
                pct_value = None
        if abs_value is not None and abs_value > MAX_AMOUNT:
            self.add(join(location, "abs"), f"must be at most {MAX_AMOUNT:,}, got {mapping['abs']}")
            abs_value = None
        return abs_value, pct_value

    def days(self, mapping: Mapping[str, Any], location: str) -> int | None:
        if "days" not in mapping:
            return None
        return self.integer(mapping["days"], join(location, "days"), 0, MAX_DAYS)

    def calendar(self, value: Any, location: str) -> str | None:
        """A holiday calendar: a country code (DE) or country and subdivision (DE-BY), per `holidays`."""
        if not isinstance(value, str) or not value.strip():
            self.add(location, f"expected a country code like DE or DE-BY, got {describe(value)}")
            return None
        import holidays  # only rules with a calendar pay for the import

        supported = holidays.list_supported_countries()
        country, _, subdivision = value.strip().upper().partition("-")
        if country not in supported:
            self.add(location, f"unknown country '{country}'{suggestion(country, supported)}")
            return None
        if subdivision and subdivision not in supported[country]:
            hint = suggestion(subdivision, supported[country])
            self.add(location, f"unknown subdivision '{subdivision}' of {country}{hint}")
            return None
        return f"{country}-{subdivision}" if subdivision else country

    def sides(self, mapping: Mapping[str, Any], location: str) -> tuple[str, str]:
        left = self.text(mapping["left"], join(location, "left")) if "left" in mapping else None
        right = self.text(mapping["right"], join(location, "right")) if "right" in mapping else None
        return left or "", right or ""

    # -- structure -----------------------------------------------------------------------------


def describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{value!r} ({type(value).__name__})"
