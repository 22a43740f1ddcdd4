"""Append-only, hash-chained audit events.

One chain per project (events of a project), per organisation (org-level events such as logins) and one
"system" chain for events with neither. `seq` counts 1, 2, 3... inside a chain and each event stores the hash
of its predecessor, so an edited, inserted or deleted event breaks the chain (see recon.audit.chain).

No foreign keys on purpose: an event must outlive the user, project or organisation it names, and a
cascading SET NULL would rewrite (and so break) the chain.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from recon.core.time import utcnow
from recon.models.base import Base, IdMixin
from recon.models.types import JSONDoc, UTCDateTime

SYSTEM_CHAIN = "system"


class AuditEvent(IdMixin, Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("chain", "seq"),
        Index("ix_audit_events_project_id_seq", "project_id", "seq"),
        Index("ix_audit_events_entity", "entity_type", "entity_id"),
    )

    # project id, "org:<org id>" or "system"
    chain: Mapped[str] = mapped_column(String(80))
    seq: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[str | None] = mapped_column(String(36), index=True)
    org_id: Mapped[str | None] = mapped_column(String(36))
    project_id: Mapped[str | None] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONDoc(), default=dict)
    request_id: Mapped[str | None] = mapped_column(String(128))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
