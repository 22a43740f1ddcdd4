"""Read options shared by every format, validated from a rules file's `read:` mapping or built directly."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

from recon.ingest.errors import IngestError, did_you_mean
from recon.ingest.limits import DEFAULT_LIMITS, IngestLimits

ENCODINGS = ("auto", "utf-8", "utf-8-sig", "latin-1", "cp1252")
DECIMAL_SEPARATORS = (".", ",")
THOUSANDS_SEPARATORS = (None, ",", ".", " ", "'")
DEBIT_SIGNS = ("negative", "positive")
DEFAULT_SIGNED_COLUMN = "amount"
# strftime directives the date parser understands (Arrow's strptime).
_DATE_DIRECTIVES = frozenset("dmYybBHMSIpjaAe%")
_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
_ENCODING_ALIASES = {
    "utf8": "utf-8",
    "utf8-sig": "utf-8-sig",
    "latin1": "latin-1",
    "iso-8859-1": "latin-1",
    "windows-1252": "cp1252",
}


def _fail(where: str, message: str) -> IngestError:
    return IngestError(f"{where}: {message}")


def _char(value: object, where: str, *, allow_none: bool) -> str | None:
    if value is None or value == "":
        if allow_none:
            return None
        raise _fail(where, "must be a single character")
    if not isinstance(value, str):
        raise _fail(where, f"must be a single character (got {value!r})")
    value = _DELIMITER_NAMES.get(value.lower(), value)
    if len(value) != 1 or value in "\r\n":
        raise _fail(where, f"must be a single character other than a line break (got {value!r})")
    return value


def _choice(value: object, where: str, choices: tuple[Any, ...]) -> Any:
    if value not in choices or isinstance(value, bool):
        shown = ", ".join("null" if c is None else repr(c) for c in choices)
        hint = did_you_mean(value, [c for c in choices if c]) if isinstance(value, str) else ""
        raise _fail(where, f"must be one of {shown} (got {value!r}){hint}")
    return value


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, f"must be true or false (got {value!r})")
    return value


def _strings(value: object, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(v, str) for v in items):
        raise _fail(where, f"must be a string or a list of strings (got {value!r})")
    return tuple(items)


def _date_formats(value: object, where: str) -> tuple[str, ...]:
    formats = _strings(value, where)
    if not formats:
        raise _fail(where, "must name at least one format (or 'auto')")
    if formats == ("auto",):
        return formats
    for fmt in formats:
        directives = re.findall(r"%(.)", fmt)
        unknown = [d for d in directives if d not in _DATE_DIRECTIVES]
        if not directives or unknown:
            bad = f" (unknown directive %{unknown[0]})" if unknown else ""
            raise _fail(where, f"{fmt!r} is not a strftime date format like '%d/%m/%Y'{bad}")
    return formats


@dataclass(frozen=True, slots=True)
class AmountSpec:
    """How the signed amount is built.

    - `{column: amount}`: the column holds signed amounts (always accepted: leading sign, trailing minus,
      parentheses).
    - `{column: amount, debit: Debit, credit: Credit}`: two unsigned columns; a new column `column` is added
      at the debit column's place with credit - debit (`debit_sign: negative`, the default) or debit - credit
      (`debit_sign: positive`). An empty cell counts as 0; both empty gives a null amount.
    - `{column: amount, indicator: DC}`: `column` is unsigned and the indicator column says debit or credit
      (`debit_values` / `credit_values`, compared case-insensitively after trimming); debits are negated
      (or credits, with `debit_sign: positive`).
    - `invert: true` (any form) negates the result: e.g. a ledger's bank account, where a debit (Soll) is
      money coming in, against a bank statement where money in is positive.
    With debit/credit columns `column` is optional (default "amount"): it names the new signed column.
    """

    column: str
    debit: str | None = None
    credit: str | None = None
    indicator: str | None = None
    debit_values: tuple[str, ...] = ("D", "DR", "DEBIT")
    credit_values: tuple[str, ...] = ("C", "CR", "CREDIT")
    debit_sign: Literal["negative", "positive"] = "negative"
    invert: bool = False

    @property
    def mode(self) -> Literal["signed", "debit_credit", "indicator"]:
        if self.indicator is not None:
            return "indicator"
        return "debit_credit" if self.debit is not None else "signed"

    @classmethod
    def from_mapping(cls, value: object, where: str) -> AmountSpec:
        if isinstance(value, str):
            return cls(column=value)
        if not isinstance(value, Mapping):
            raise _fail(where, f"must be a column name or a mapping (got {value!r})")
        known = [f.name for f in fields(cls)]
        for key in value:
            if key not in known:
                raise _fail(f"{where}.{key}", f"unknown key{did_you_mean(str(key), known)}")
        if "column" not in value:
            if "debit" in value or "credit" in value:
                value = {**value, "column": DEFAULT_SIGNED_COLUMN}  # the signed column ingestion adds
            else:
                raise _fail(
                    where,
                    "needs 'column' (a signed amount column), or 'debit' and 'credit' (two unsigned columns: "
                    "amount = credit - debit), or 'column' and 'indicator' (a debit/credit flag column)",
                )
        names: dict[str, Any] = {}
        for key in ("column", "debit", "credit", "indicator"):
            if key in value:
                item = value[key]
                if not isinstance(item, str) or not item:
                    raise _fail(f"{where}.{key}", f"must be a column name (got {item!r})")
                names[key] = item
        for key in ("debit_values", "credit_values"):
            if key in value:
                names[key] = _strings(value[key], f"{where}.{key}")
        if "debit_sign" in value:
            names["debit_sign"] = _choice(value["debit_sign"], f"{where}.debit_sign", DEBIT_SIGNS)
        if "invert" in value:
            names["invert"] = _bool(value["invert"], f"{where}.invert")
        return cls._checked(names, where)

    @classmethod
    def _checked(cls, names: dict[str, Any], where: str) -> AmountSpec:
        debit, credit, indicator = names.get("debit"), names.get("credit"), names.get("indicator")
        if (debit is None) != (credit is None):
            raise _fail(where, "needs both 'debit' and 'credit' columns (or an 'indicator')")
        if indicator is not None and debit is not None:
            raise _fail(where, "use either debit/credit columns or an indicator column, not both")
        if indicator is None and ("debit_values" in names or "credit_values" in names):
            raise _fail(where, "'debit_values' and 'credit_values' need an 'indicator' column")
        spec = cls(**names)
        overlap = {v.upper() for v in spec.debit_values} & {v.upper() for v in spec.credit_values}
        if overlap:
            raise _fail(where, f"{sorted(overlap)} cannot be both a debit and a credit value")
        return spec


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How to read a file. Every field has a default; `from_mapping` validates a user's mapping.

    - delimiter: None = sniffed among , ; tab | (CSV). quote: None = no quoting. escape: None = quotes are
      escaped by doubling.
    - encoding: "auto" = UTF-8 (BOM stripped) when the bytes are valid UTF-8, else cp1252, else latin-1.
    - header: the first line (after `skip_rows` lines) names the columns; else columns are column1..N.
    - skip_rows: physical lines (CSV, JSON lines) or sheet rows (XLSX) to skip before the header.
    - decimal / thousands: separators for decimal columns. Spaces and currency symbols are always stripped.
    - date_format: "auto" (per column: the first common format that parses every value, ISO first), one
      strftime format, or a list tried in order for each value.
    - dayfirst: when auto detection finds both d/m and m/d plausible, prefer d/m.
    - null_values: cell texts that mean "no value" (exact match; typed columns also trim first).
    - sheet: XLSX sheet name or 1-based position (default: the first sheet).
    - json_path: dotted path to the records array inside a JSON document (e.g. "data.items").
    - lines: JSON lines (True), one JSON document (False), or decided from the content (None).
    - amount: sign convention of the amount column, see `AmountSpec`.
    - limits: the process's bounds (`IngestLimits`, from settings); never taken from a user's mapping.
    """

    delimiter: str | None = None
    quote: str | None = '"'
    escape: str | None = None
    encoding: str = "auto"
    header: bool = True
    skip_rows: int = 0
    decimal: str = "."
    thousands: str | None = None
    date_format: tuple[str, ...] = ("auto",)
    dayfirst: bool = True
    null_values: tuple[str, ...] = ("",)
    sheet: str | int | None = None
    json_path: str | None = None
    lines: bool | None = None
    amount: AmountSpec | None = None
    limits: IngestLimits = DEFAULT_LIMITS

    def __post_init__(self) -> None:
        for name, value in self._validated(self._as_dict(), "ReadOptions").items():
            object.__setattr__(self, name, value)

    def _as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None, where: str = "read") -> ReadOptions:
        """Validate a user's mapping; an unknown key or a bad value raises IngestError naming `where.key`."""
        if mapping is None:
            return cls()
        if not isinstance(mapping, Mapping):
            raise _fail(where, f"must be a mapping of read options (got {type(mapping).__name__})")
        known = [f.name for f in fields(cls) if f.name in _USER_OPTIONS]
        for key in mapping:
            if key not in known:
                raise _fail(f"{where}.{key}", f"unknown read option{did_you_mean(str(key), known)}")
        return cls(**cls._validated(dict(mapping), where))

    @classmethod
    def _validated(cls, values: dict[str, Any], where: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in values.items():
            out[key] = _VALIDATORS[key](value, f"{where}.{key}")
        quote, escape, delimiter = out.get("quote", '"'), out.get("escape"), out.get("delimiter")
        if delimiter is not None and delimiter in (quote, escape):
            raise _fail(f"{where}.delimiter", f"{delimiter!r} is also the quote or escape character")
        if out.get("decimal", ".") == out.get("thousands"):
            raise _fail(f"{where}.thousands", "must differ from the decimal separator")
        return out


def _encoding(value: object, where: str) -> str:
    if isinstance(value, str):
        value = _ENCODING_ALIASES.get(value.lower(), value.lower())
    result: str = _choice(value, where, ENCODINGS)
    return result


def _skip_rows(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _fail(where, f"must be a whole number >= 0 (got {value!r})")
    return value


def _sheet(value: object, where: str) -> str | int | None:
    if value is None or (isinstance(value, str) and value):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise _fail(where, f"must be a sheet name or a 1-based sheet position (got {value!r})")


def _json_path(value: object, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.removeprefix("$").strip("."):
        raise _fail(where, f"must be a dotted path like 'data.items' (got {value!r})")
    return value


def _amount(value: object, where: str) -> AmountSpec | None:
    if value is None or isinstance(value, AmountSpec):
        return value
    return AmountSpec.from_mapping(value, where)


_VALIDATORS: dict[str, Callable[[Any, str], Any]] = {
    "delimiter": lambda v, w: _char(v, w, allow_none=True),
    "quote": lambda v, w: _char(v, w, allow_none=True),
    "escape": lambda v, w: _char(v, w, allow_none=True),
    "encoding": _encoding,
    "header": _bool,
    "skip_rows": _skip_rows,
    "decimal": lambda v, w: _choice(v, w, DECIMAL_SEPARATORS),
    "thousands": lambda v, w: _choice(v, w, THOUSANDS_SEPARATORS),
    "date_format": _date_formats,
    "dayfirst": _bool,
    "null_values": _strings,
    "sheet": _sheet,
    "json_path": _json_path,
    "lines": lambda v, w: None if v is None else _bool(v, w),
    "amount": _amount,
}
_USER_OPTIONS = frozenset(_VALIDATORS)


def _limits(value: object, where: str) -> IngestLimits:
    if not isinstance(value, IngestLimits):
        raise _fail(where, "must be IngestLimits")
    return value


_VALIDATORS["limits"] = _limits
