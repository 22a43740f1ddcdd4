"""record_event appends hash-chained events in the caller's transaction; verify_chain proves the chain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import select

from recon.audit.chain import GENESIS_HASH, event_hash
from recon.audit.service import EventSpec, record_event, record_events, verify_chain
from recon.core.db import SessionFactory, session_scope
from recon.models import AuditEvent, Project, User


def _events(session_factory: SessionFactory) -> list[AuditEvent]:
    with session_scope(session_factory) as s:
        return list(s.scalars(select(AuditEvent).order_by(AuditEvent.chain, AuditEvent.seq)))


def test_events_chain_per_project(
    session_factory: SessionFactory, make_project: Callable[..., Project], make_user: Callable[..., User]
) -> None:
    project = make_project()
    user = make_user()
    with session_scope(session_factory) as s:
        first = record_event(
            s,
            action="dataset.uploaded",
            actor_id=user.id,
            project_id=project.id,
            entity_type="dataset",
            entity_id="d1",
            data={"amount": Decimal("12.50"), "when": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)},
            request_id="req-1",
        )
        second = record_event(
            s,
            action="dataset.deleted",
            actor_id=user.id,
            project_id=project.id,
            entity_type="dataset",
            entity_id="d1",
        )
        login = record_event(
            s, action="auth.login", actor_id=user.id, project_id=None, entity_type="user", entity_id=user.id
        )
    assert (first.chain, first.seq, first.prev_hash) == (project.id, 1, GENESIS_HASH)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert first.org_id == project.org_id
    assert first.data == {"amount": "12.50", "when": "2024-01-02T03:04:05+00:00"}
    assert (login.chain, login.seq, login.org_id) == (f"org:{user.org_id}", 1, user.org_id)

    stored = _events(session_factory)
    assert len(stored) == 3
    for event in stored:
        fields = {c.name: getattr(event, c.name) for c in AuditEvent.__table__.columns}
        assert event_hash(fields) == event.hash
    with session_scope(session_factory) as s:
        assert verify_chain(s) == (True, None, None)


def test_event_rolls_back_with_the_change(session_factory: SessionFactory) -> None:
    with pytest.raises(RuntimeError), session_scope(session_factory) as s:
        record_event(s, action="x.y", actor_id=None, project_id=None, entity_type="thing", entity_id=None)
        raise RuntimeError("the change failed")
    assert _events(session_factory) == []


def test_non_json_data_is_refused(session_factory: SessionFactory) -> None:
    with session_scope(session_factory) as s:
        with pytest.raises(ValueError, match="non-finite"):
            record_event(
                s,
                action="x.y",
                actor_id=None,
                project_id=None,
                entity_type="t",
                entity_id=None,
                data={"v": float("nan")},
            )
        with pytest.raises(TypeError, match="bytes"):
            record_event(
                s,
                action="x.y",
                actor_id=None,
                project_id=None,
                entity_type="t",
                entity_id=None,
                data={"v": b"raw"},
            )


def test_batch_extends_the_chain(
    session_factory: SessionFactory, make_project: Callable[..., Project]
) -> None:
    project = make_project()
    with session_scope(session_factory) as s:
        first = record_event(
            s,
            action="group.confirmed",
            actor_id=None,
            project_id=project.id,
            entity_type="group",
            entity_id="g0",
        )
        batch = record_events(
            s,
            [EventSpec("group.confirmed", "group", f"g{i}", {"i": i}) for i in range(1, 4)],
            actor_id=None,
            project_id=project.id,
        )
        assert record_events(s, [], actor_id=None, project_id=project.id) == []
    assert [e.seq for e in batch] == [2, 3, 4]
    assert [e.prev_hash for e in batch] == [first.hash, batch[0].hash, batch[1].hash]
    assert [e.data for e in batch] == [{"i": 1}, {"i": 2}, {"i": 3}]
    with session_scope(session_factory) as s:
        assert verify_chain(s) == (True, None, None)
