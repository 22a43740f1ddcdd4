"""Response bodies of the audit domain (events are never written through the API)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from recon.core.schemas import RowOut


class AuditQuery(BaseModel):
    """Filters of the audit list (query parameters besides `limit` and `cursor`)."""

    action: str | None = Field(
        default=None, max_length=64, description="Exact action, or a prefix ending in '.' (`ruleset.`)"
    )
    entity_type: str | None = Field(default=None, max_length=64)
    entity_id: str | None = Field(default=None, max_length=64)
    actor_id: str | None = Field(default=None, max_length=36)
    since: dt.datetime | None = Field(default=None, description="From this time (inclusive; naive = UTC)")
    until: dt.datetime | None = Field(default=None, description="Before this time (exclusive; naive = UTC)")
    order: Literal["desc", "asc"] = Field(default="desc", description="desc: newest first")


class AuditEventOut(RowOut):
    id: str
    seq: int = Field(description="Position in the project's chain (1, 2, 3, ...).")
    occurred_at: dt.datetime
    actor_id: str | None
    org_id: str | None
    project_id: str | None
    action: str
    entity_type: str
    entity_id: str | None
    data: dict[str, Any]
    request_id: str | None
    prev_hash: str = Field(description="Hash of the previous event of the chain (64 zeros for the first).")
    hash: str = Field(description="sha256 of the canonical JSON of this event, prev_hash included.")


class ChainHead(BaseModel):
    seq: int
    hash: str


class AuditVerification(BaseModel):
    ok: bool
    events_checked: int
    first_broken_event_id: str | None = None
    reason: str | None = None
    head: ChainHead | None = Field(
        default=None,
        description="Last event of the chain. Keep a copy elsewhere: removing the newest events of a chain "
        "can only be detected against an earlier head.",
    )
