"""The chain detects edits and deletions made behind the application's back; the database refuses casual ones;
concurrent appends never fork a chain."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import DatabaseError

from recon.audit.chain import event_hash
from recon.audit.service import record_event, verify_chain, verify_report
from recon.core.db import SessionFactory, session_scope
from recon.models import AuditEvent, Project


def _record(session_factory: SessionFactory, project_id: str, n: int) -> list[str]:
    ids = []
    with session_scope(session_factory) as s:
        for i in range(n):
            event = record_event(
                s,
                action="thing.changed",
                actor_id=None,
                project_id=project_id,
                entity_type="thing",
                entity_id=str(i),
                data={"i": i},
            )
            ids.append(event.id)
    return ids


@contextmanager
def guard_bypassed(engine: Engine) -> Iterator[Connection]:
    """A connection that can tamper with audit_events (as an attacker with database rights could)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))
        yield conn


@pytest.fixture
def project(make_project: Callable[..., Project]) -> Project:
    return make_project()


def test_database_refuses_update_and_delete(
    db_engine: Engine, session_factory: SessionFactory, project: Project
) -> None:
    (event_id,) = _record(session_factory, project.id, 1)
    for statement in (
        "UPDATE audit_events SET action = 'forged' WHERE id = :id",
        "DELETE FROM audit_events WHERE id = :id",
    ):
        with pytest.raises(DatabaseError, match="append-only"), db_engine.begin() as conn:
            conn.execute(text(statement), {"id": event_id})
    with session_scope(session_factory) as s:
        assert s.scalar(select(AuditEvent.action).where(AuditEvent.id == event_id)) == "thing.changed"


def test_tampered_event_is_named(
    db_engine: Engine, session_factory: SessionFactory, project: Project
) -> None:
    ids = _record(session_factory, project.id, 4)
    with guard_bypassed(db_engine) as conn:
        conn.execute(text("UPDATE audit_events SET entity_id = 'forged' WHERE id = :id"), {"id": ids[2]})
    with session_scope(session_factory) as s:
        ok, broken, reason = verify_chain(s)
    assert not ok
    assert broken == ids[2]
    assert reason is not None and "modified" in reason and "seq 3" in reason


def test_rehashed_event_breaks_the_link_to_the_next(
    db_engine: Engine, session_factory: SessionFactory, project: Project
) -> None:
    # An attacker who also recomputes the edited event's hash is caught by the next event's prev_hash.
    ids = _record(session_factory, project.id, 3)
    with session_scope(session_factory) as s:
        event = s.get(AuditEvent, ids[1])
        assert event is not None
        fields = {c.name: getattr(event, c.name) for c in AuditEvent.__table__.columns}
    fields["data"] = {"i": 999}
    with guard_bypassed(db_engine) as conn:
        conn.execute(
            text("UPDATE audit_events SET hash = :h WHERE id = :id"), {"h": event_hash(fields), "id": ids[1]}
        )
        conn.execute(AuditEvent.__table__.update().where(AuditEvent.id == ids[1]).values(data={"i": 999}))
    with session_scope(session_factory) as s:
        ok, broken, reason = verify_chain(s)
    assert (ok, broken) == (False, ids[2])
    assert reason is not None and f"prev_hash does not match the hash of event {ids[1]}" in reason


@pytest.mark.parametrize(
    ("deleted", "named", "words"), [(1, 2, "in between are missing"), (0, 1, "starts at")]
)
def test_deleted_event_leaves_a_gap(
    db_engine: Engine,
    session_factory: SessionFactory,
    project: Project,
    deleted: int,
    named: int,
    words: str,
) -> None:
    ids = _record(session_factory, project.id, 3)
    with guard_bypassed(db_engine) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[deleted]})
    with session_scope(session_factory) as s:
        ok, broken, reason = verify_chain(s)
    assert (ok, broken) == (False, ids[named])
    assert reason is not None and words in reason


def test_breaks_are_reported_per_chain(
    db_engine: Engine, session_factory: SessionFactory, make_project: Callable[..., Project]
) -> None:
    first, second = make_project(), make_project()
    _record(session_factory, first.id, 2)
    ids = _record(session_factory, second.id, 2)
    with guard_bypassed(db_engine) as conn:
        conn.execute(text("UPDATE audit_events SET action = 'x' WHERE id = :id"), {"id": ids[1]})
    with session_scope(session_factory) as s:
        assert verify_chain(s, chain=first.id).ok
        report = verify_report(s)
    assert report.events_checked == 4
    assert [b.event_id for b in report.breaks] == [ids[1]]
    assert report.heads[first.id][0] == 2


def test_concurrent_appends_do_not_fork(session_factory: SessionFactory, project: Project) -> None:
    threads, per_thread = 6, 5
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                _record(session_factory, project.id, 1)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    with session_scope(session_factory) as s:
        seqs = list(s.scalars(select(AuditEvent.seq).where(AuditEvent.chain == project.id)))
        assert sorted(seqs) == list(range(1, threads * per_thread + 1))
        assert verify_chain(s) == (True, None, None)
