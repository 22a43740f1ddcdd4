"""Column mapping onto the canonical record shape: {canonical field: source column}.

Fields not named in a mapping are found by name (case-insensitive, spaces/dashes as underscores, common
synonyms). Source columns that no field uses are kept in the record's `extra` JSON.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from recon.ingest.errors import did_you_mean

# Field -> ingest type hint ("string" also turns native numbers of Parquet/XLSX/JSON into text).
CANONICAL_TYPES: dict[str, str] = {
    "ext_id": "string",
    "date": "date",
    "value_date": "date",
    "amount": "decimal",
    "currency": "string",
    "reference": "string",
    "counterparty": "string",
    "description": "string",
}
CANONICAL_FIELDS = tuple(CANONICAL_TYPES)
TEXT_FIELDS = ("currency", "reference", "counterparty", "description")

# Names recognised for each field, most specific first (compared after `normalize_name`).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "ext_id": ("ext_id", "id", "transaction_id", "txn_id", "external_id"),
    "date": ("date", "booking_date", "posting_date", "transaction_date", "txn_date"),
    "value_date": ("value_date", "valuta"),
    "amount": ("amount", "value"),
    "currency": ("currency", "ccy", "currency_code"),
    "reference": ("reference", "ref"),
    "counterparty": ("counterparty", "payee", "name"),
    "description": ("description", "narrative", "memo"),
}


class MappingError(ValueError):
    """A mapping that cannot be used; `field` is where it goes wrong (e.g. "mapping.amount")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def normalize_name(name: str) -> str:
    return re.sub(r"[\s\-.]+", "_", name.strip().lower())


def validate_mapping(value: Any, where: str = "mapping") -> dict[str, str]:
    """Check the shape of a requested mapping (no file needed): known fields, one column used once."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MappingError(where, "must be a JSON object of {canonical field: source column}")
    used: dict[str, str] = {}
    checked: dict[str, str] = {}
    for field, column in value.items():
        if field not in CANONICAL_TYPES:
            hint = did_you_mean(str(field), CANONICAL_FIELDS)
            raise MappingError(
                f"{where}.{field}",
                f"unknown canonical field{hint}; known: {', '.join(CANONICAL_FIELDS)}",
            )
        if not isinstance(column, str) or not column.strip():
            raise MappingError(f"{where}.{field}", f"must be a source column name (got {column!r})")
        if column in used:
            raise MappingError(f"{where}.{field}", f"column {column!r} is already mapped to {used[column]}")
        used[column] = field
        checked[field] = column
    return checked


@dataclass(frozen=True)
class ResolvedMapping:
    fields: dict[str, str]  # canonical field -> source column, only the fields found
    extra: list[str]  # unmapped source columns, in file order

    @property
    def types(self) -> dict[str, str]:
        return {column: CANONICAL_TYPES[field] for field, column in self.fields.items()}


def resolve_mapping(requested: Mapping[str, str], columns: Sequence[str]) -> ResolvedMapping:
    """The mapping for a file with these columns: the requested entries (which must exist) plus the
    defaults by name for the other fields. `ext_id` must end up mapped."""
    fields: dict[str, str] = {}
    for field, column in requested.items():
        if column not in columns:
            raise MappingError(
                f"mapping.{field}",
                f"no column {column!r} in the file{did_you_mean(column, columns)}; "
                f"columns: {', '.join(columns)}",
            )
        fields[field] = column
    taken = set(fields.values())
    by_name: dict[str, str] = {}
    for column in columns:
        by_name.setdefault(normalize_name(column), column)
    for field, names in SYNONYMS.items():
        if field in fields:
            continue
        for name in names:
            found = by_name.get(name)
            if found is not None and found not in taken:
                fields[field] = found
                taken.add(found)
                break
    if "ext_id" not in fields:
        raise MappingError(
            "mapping.ext_id",
            "no id column found (looked for "
            f'{", ".join(SYNONYMS["ext_id"])}); map one, e.g. {{"ext_id": "<column>"}}; '
            f"columns: {', '.join(columns)}",
        )
    ordered = {field: fields[field] for field in CANONICAL_FIELDS if field in fields}
    return ResolvedMapping(fields=ordered, extra=[c for c in columns if c not in taken])
