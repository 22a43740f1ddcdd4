"""Recording and verifying audit events. `record_event` is called by every domain that changes state.

Appends run in the caller's transaction, so an event exists exactly when the change it describes was
committed. Appends to a chain are serialised until that transaction ends (PostgreSQL: a transaction-scoped
advisory lock per chain; SQLite: the database write lock, taken before the chain head is read), so two
transactions can never both extend the same head; the unique (chain, seq) constraint is the last guard.
There is deliberately no update or delete API.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

import structlog
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from recon.audit.chain import (
    GENESIS_HASH,
    ChainReport,
    ChainVerification,
    chain_key,
    check_events,
    event_hash,
    normalize_data,
)
from recon.audit.repository import AuditFilter, AuditRepository
from recon.audit.schemas import AuditEventOut, AuditVerification, ChainHead
from recon.core.locks import take_sqlite_write_lock
from recon.core.pagination import Page, PageParams
from recon.core.repository import ProjectRows
from recon.core.time import utcnow
from recon.models import Project, User
from recon.models.audit import AuditEvent
from recon.models.base import Base, new_id

log = structlog.get_logger("recon.audit")

_VERIFY_BATCH = 2000


@dataclass(frozen=True)
class EventSpec:
    """One event of a batch (`record_events`)."""

    action: str
    entity_type: str
    entity_id: str | None
    data: Mapping[str, Any] | None = None


def record_event(
    session: Session,
    *,
    action: str,
    actor_id: str | None,
    project_id: str | None,
    entity_type: str,
    entity_id: str | None,
    data: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    org_id: str | None = None,
) -> AuditEvent:
    """Append an event to its chain in the caller's transaction (flushed, not committed).

    `org_id` defaults to the project's (or else the actor's) organisation; `request_id` to the current
    request's id. `data` must be JSON-like; decimals and timestamps are stored as strings.
    """
    spec = EventSpec(action=action, entity_type=entity_type, entity_id=entity_id, data=data)
    (event,) = record_events(
        session, [spec], actor_id=actor_id, project_id=project_id, request_id=request_id, org_id=org_id
    )
    return event


class ProjectEntity(Protocol):
    """A row that belongs to one project (a dataset, run, export, rule set, feed, schedule...)."""

    @property
    def id(self) -> str: ...

    @property
    def project_id(self) -> str: ...


def record_entity_event(
    session: Session,
    entity_type: str,
    entity: ProjectEntity,
    action: str,
    *,
    actor_id: str | None,
    data: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """`record_event` for a change to one project row: the event names the row and sits in its project's
    chain (both taken from the row, so a caller cannot pair a row with another project)."""
    return record_event(
        session,
        action=action,
        actor_id=actor_id,
        project_id=entity.project_id,
        entity_type=entity_type,
        entity_id=entity.id,
        data=data,
    )


R = TypeVar("R", bound=Base)


class AuditedRows(ProjectRows[R]):
    """A service of a project-owned table whose every change is audited in the row's project chain: `entity`
    names the table in the trail (`feed` -> `feed.created`), `audit_data` what each event records."""

    session: Session
    entity: str

    def audit_data(self, row: R) -> dict[str, Any]:
        raise NotImplementedError

    def added(self, actor_id: str, row: R) -> R:
        self.session.add(row)
        return self.changed(actor_id, row, "created")

    def changed(self, actor_id: str, row: R, change: str = "updated") -> R:
        self.session.flush()
        self._record(actor_id, row, change)
        return row

    def deleted(self, actor_id: str, row: R) -> None:
        self._record(actor_id, row, "deleted")
        self.session.delete(row)
        self.session.flush()

    def _record(self, actor_id: str, row: R, change: str) -> None:
        entity = cast("ProjectEntity", row)  # the tables of ProjectRows have id and project_id
        action = f"{self.entity}.{change}"
        record_entity_event(
            self.session, self.entity, entity, action, actor_id=actor_id, data=self.audit_data(row)
        )


def record_account_event(
    session: Session,
    entity_type: str,
    entity_id: str,
    action: str,
    *,
    actor_id: str | None,
    data: Mapping[str, Any] | None = None,
    org_id: str | None = None,
) -> AuditEvent:
    """`record_event` for a change to an account outside any project (a user, a login session): the event
    sits in the organisation's chain (`org_id`, or else the actor's)."""
    return record_event(
        session,
        action=action,
        actor_id=actor_id,
        project_id=None,
        entity_type=entity_type,
        entity_id=entity_id,
        data=data,
        org_id=org_id,
    )


def record_events(
    session: Session,
    events: Sequence[EventSpec],
    *,
    actor_id: str | None,
    project_id: str | None,
    request_id: str | None = None,
    org_id: str | None = None,
) -> list[AuditEvent]:
    """Append several events of one actor and project in order (bulk actions: one event per record
    decided), with one lock, one head read and one batched INSERT instead of one round trip set each."""
    if not events:
        return []
    if org_id is None:
        org_id = _org_of(session, project_id, actor_id)
    if request_id is None:
        request_id = structlog.contextvars.get_contextvars().get("request_id")
    payloads = [normalize_data(spec.data) for spec in events]  # refuse bad data before taking the lock
    chain = chain_key(project_id, org_id)
    _lock_chain(session, chain)
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.chain == chain)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    seq, prev_hash = (head[0], head[1]) if head is not None else (0, GENESIS_HASH)
    now = utcnow()
    appended = []
    for spec, payload in zip(events, payloads, strict=True):
        seq += 1
        fields: dict[str, Any] = {
            "id": new_id(),
            "chain": chain,
            "seq": seq,
            "occurred_at": now,
            "actor_id": actor_id,
            "org_id": org_id,
            "project_id": project_id,
            "action": spec.action,
            "entity_type": spec.entity_type,
            "entity_id": spec.entity_id,
            "data": payload,
            "request_id": request_id,
            "prev_hash": prev_hash,
        }
        prev_hash = event_hash(fields)
        appended.append(AuditEvent(**fields, hash=prev_hash))
    session.add_all(appended)
    session.flush()
    actions = sorted({spec.action for spec in events})
    log.info("audit_events", actions=actions, events=len(appended), chain_seq=seq)
    return appended


def _org_of(session: Session, project_id: str | None, actor_id: str | None) -> str | None:
    if project_id is not None:
        project = session.get(Project, project_id)
        if project is not None:
            return project.org_id
    if actor_id is not None:
        user = session.get(User, actor_id)
        if user is not None:
            return user.org_id
    return None


def _lock_chain(session: Session, chain: str) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _advisory_key(chain)})
    elif dialect == "sqlite":
        # The database write lock, held until commit: the head read next is the latest one and no other
        # writer can append before this transaction ends.
        take_sqlite_write_lock(session)
    else:  # pragma: no cover - only the two supported backends
        raise RuntimeError(f"audit appends are not supported on {dialect}")


def _advisory_key(chain: str) -> int:
    digest = hashlib.sha256(f"recon.audit:{chain}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# -- verification -----------------------------------------------------------------------------------------
def _rows(session: Session, chain: str | None) -> Iterator[dict[str, Any]]:
    stmt = select(*AuditEvent.__table__.columns).order_by(AuditEvent.chain, AuditEvent.seq)
    if chain is not None:
        stmt = stmt.where(AuditEvent.chain == chain)
    result = session.execute(stmt.execution_options(yield_per=_VERIFY_BATCH))
    for row in result.mappings():
        yield dict(row)


def verify_report(session: Session, *, chain: str | None = None) -> ChainReport:
    """Check every chain (or one) in streaming batches; see `recon.audit.chain.check_events`."""
    return check_events(_rows(session, chain))


def verify_chain(session: Session, *, chain: str | None = None) -> ChainVerification:
    """(ok, first_broken_event_id, reason) over every chain (or one chain)."""
    return verify_report(session, chain=chain).verification()


def page_events(session: Session, project_id: str, f: AuditFilter, params: PageParams) -> Page[AuditEventOut]:
    """The project's audit events, filtered, by chain position (newest first unless `f.oldest_first`)."""
    return AuditRepository(session).page_for_project(project_id, f, params).map(AuditEventOut.model_validate)


def verify_project(session: Session, project_id: str) -> AuditVerification:
    """Verify the chain of one project (events of other projects are neither read nor named)."""
    report = verify_report(session, chain=project_id)
    ok, first_broken, reason = report.verification()
    head = report.heads.get(project_id)
    return AuditVerification(
        ok=ok,
        events_checked=report.events_checked,
        first_broken_event_id=first_broken,
        reason=reason,
        head=ChainHead(seq=head[0], hash=head[1]) if head else None,
    )
