"""Audit event queries (read-only: events are appended by recon.audit.service.record_event)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from recon.core.pagination import Page, PageParams, SortKey
from recon.core.repository import Repository, where_given
from recon.models import AuditEvent


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None  # exact, or a prefix when it ends with "." ("ruleset.")
    entity_type: str | None = None
    entity_id: str | None = None
    actor_id: str | None = None
    since: dt.datetime | None = None  # inclusive
    until: dt.datetime | None = None  # exclusive
    oldest_first: bool = False


class AuditRepository(Repository[AuditEvent]):
    model = AuditEvent
    noun = "audit event"

    def page_for_project(self, project_id: str, f: AuditFilter, params: PageParams) -> Page[AuditEvent]:
        stmt = select(AuditEvent).where(AuditEvent.project_id == project_id)
        if f.action is not None:
            if f.action.endswith("."):
                stmt = stmt.where(AuditEvent.action.startswith(f.action, autoescape=True))
            else:
                stmt = stmt.where(AuditEvent.action == f.action)
        stmt = where_given(
            stmt,
            (AuditEvent.entity_type, f.entity_type),
            (AuditEvent.entity_id, f.entity_id),
            (AuditEvent.actor_id, f.actor_id),
        )
        if f.since is not None:
            stmt = stmt.where(AuditEvent.occurred_at >= f.since)
        if f.until is not None:
            stmt = stmt.where(AuditEvent.occurred_at < f.until)
        # seq is unique inside the project's chain, so it alone is a complete sort key.
        return self.page(stmt, [SortKey(AuditEvent.seq, descending=not f.oldest_first)], params)
