"""HTTP surface of the audit trail: list a project's events and verify its chain. Read-only by design."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from recon.audit.repository import AuditFilter
from recon.audit.schemas import AuditEventOut, AuditQuery, AuditVerification
from recon.audit.service import page_events, verify_project
from recon.auth.dependencies import ProjectViewer
from recon.core.db import DbSession
from recon.core.pagination import Page, Pagination
from recon.core.params import ProjectId
from recon.core.time import ensure_utc

router = APIRouter(prefix="/projects", tags=["audit"])


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else ensure_utc(value)


@router.get("/{project_id}/audit", response_model=Page[AuditEventOut])
def list_audit_events(
    project_id: ProjectId,
    access: ProjectViewer,
    session: DbSession,
    page: Pagination,
    query: Annotated[AuditQuery, Query()],
) -> Page[AuditEventOut]:
    """The project's audit events (keyset paginated by chain position), filtered by `query`."""
    filters = AuditFilter(
        action=query.action,
        entity_type=query.entity_type,
        entity_id=query.entity_id,
        actor_id=query.actor_id,
        since=_utc(query.since),
        until=_utc(query.until),
        oldest_first=query.order == "asc",
    )
    return page_events(session, access.project.id, filters, page)


@router.get("/{project_id}/audit/verify", response_model=AuditVerification)
def verify_audit_chain(project_id: ProjectId, access: ProjectViewer, session: DbSession) -> AuditVerification:
    """Recompute the project's hash chain: `ok`, or the first broken event and why (auditors are viewers)."""
    return verify_project(session, access.project.id)
