"""The hash chain: canonical JSON, event hashes, chain keys and verification.

hash = sha256(canonical JSON of every field of the event, prev_hash included). Canonical JSON: sorted keys,
no whitespace, UTF-8, decimals as strings, timestamps as ISO 8601 in UTC. The first event of a chain has
prev_hash GENESIS_HASH.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from recon.models.audit import SYSTEM_CHAIN

GENESIS_HASH = "0" * 64
# The fields covered by the hash, in the order they are shown; the JSON sorts them anyway.
HASHED_FIELDS = (
    "id",
    "chain",
    "seq",
    "occurred_at",
    "actor_id",
    "org_id",
    "project_id",
    "action",
    "entity_type",
    "entity_id",
    "data",
    "request_id",
    "prev_hash",
)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"audit data cannot hold the non-finite decimal {value}")
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("audit data cannot hold a naive datetime; use recon.core.time.utcnow()")
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"audit data cannot hold a {type(value).__name__}")


def _check_floats(value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"audit data cannot hold the non-finite number {value}")
    if isinstance(value, Mapping):
        for item in value.values():
            _check_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_floats(item)


def canonical_json(value: Any) -> str:
    _check_floats(value)
    return json.dumps(
        value,
        default=_json_default,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def normalize_data(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The data as it will be stored and hashed: plain JSON types only (decimals/dates become strings)."""
    normalized = json.loads(canonical_json(dict(data or {})))
    assert isinstance(normalized, dict)
    return normalized


def event_hash(fields: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON of the hashed fields (timestamps in UTC ISO form)."""
    doc = {name: fields[name] for name in HASHED_FIELDS}
    occurred_at = doc["occurred_at"]
    if isinstance(occurred_at, dt.datetime):
        doc["occurred_at"] = occurred_at.astimezone(dt.UTC).isoformat()
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()


def chain_key(project_id: str | None, org_id: str | None) -> str:
    """Events of a project chain per project; org-level events per organisation; the rest in `system`."""
    if project_id is not None:
        return project_id
    if org_id is not None:
        return f"org:{org_id}"
    return SYSTEM_CHAIN


# -- verification -----------------------------------------------------------------------------------------
class ChainVerification(NamedTuple):
    ok: bool
    first_broken_event_id: str | None
    reason: str | None


@dataclass(frozen=True)
class ChainBreak:
    chain: str
    event_id: str
    seq: int
    occurred_at: dt.datetime
    reason: str


@dataclass
class ChainReport:
    events_checked: int = 0
    # chain -> (seq, hash) of its last event: record these elsewhere to detect a truncated tail later.
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    breaks: list[ChainBreak] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def first_break(self) -> ChainBreak | None:
        return min(self.breaks, key=lambda b: (b.occurred_at, b.chain, b.seq), default=None)

    def verification(self) -> ChainVerification:
        first = self.first_break
        if first is None:
            return ChainVerification(True, None, None)
        return ChainVerification(False, first.event_id, first.reason)


def check_events(rows: Iterable[Mapping[str, Any]]) -> ChainReport:
    """Walk events ordered by (chain, seq); report the first break of every chain.

    Detects a changed event (its hash no longer matches its content), a deleted event (a gap in seq, or a
    chain not starting at 1) and a re-linked event (prev_hash not the previous event's hash). Cutting off the
    newest events of a chain leaves no trace inside it: compare `heads` with a copy kept elsewhere.
    """
    report = ChainReport()
    chain: str | None = None
    prev_seq, prev_hash, prev_id = 0, GENESIS_HASH, ""
    broken = False
    for row in rows:
        if row["chain"] != chain:
            chain, prev_seq, prev_hash, prev_id, broken = row["chain"], 0, GENESIS_HASH, "", False
        report.events_checked += 1
        seq = row["seq"]
        report.heads[row["chain"]] = (seq, row["hash"])
        if broken:
            continue
        reason = _problem(row, prev_seq, prev_hash, prev_id)
        if reason is not None:
            report.breaks.append(ChainBreak(row["chain"], row["id"], seq, row["occurred_at"], reason))
            broken = True
        prev_seq, prev_hash, prev_id = seq, row["hash"], row["id"]
    return report


def _problem(row: Mapping[str, Any], prev_seq: int, prev_hash: str, prev_id: str) -> str | None:
    seq = row["seq"]
    where = f"event {row['id']} (chain {row['chain']}, seq {seq})"
    if seq != prev_seq + 1:
        missing = seq - prev_seq - 1
        if prev_seq == 0:
            return f"{where}: the chain starts at seq {seq}; {missing} earlier event(s) are missing (deleted)"
        if missing > 0:
            return f"{where}: follows seq {prev_seq}; {missing} event(s) in between are missing (deleted)"
        return f"{where}: seq does not follow seq {prev_seq} (duplicated or reordered)"
    if row["prev_hash"] != prev_hash:
        before = f"event {prev_id}" if prev_id else "the genesis value"
        return f"{where}: prev_hash does not match the hash of {before}"
    if event_hash(row) != row["hash"]:
        return f"{where}: content does not match its hash (the event was modified)"
    return None
