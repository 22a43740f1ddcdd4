"""The run lock (recon.core.locks): held until the transaction ends, on SQLite and PostgreSQL; no upgrade."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import OperationalError

from recon.config import Settings
from recon.core.db import SessionFactory, create_db_engine, create_session_factory, session_scope
from recon.core.locks import LockUpgrade, lock_run
from recon.models import Project, Run
from review.factory import build_run


def _impatient(settings: Settings) -> SessionFactory:
    """Sessions that give up on a lock at once (SQLite busy timeout 0; PostgreSQL lock_timeout)."""
    engine = create_db_engine(settings.model_copy(update={"sqlite_busy_timeout_ms": 0}))
    return create_session_factory(engine)


def _other_writer_blocked(factory: SessionFactory, run_id: str) -> bool:
    with factory() as other:
        try:
            if other.get_bind().dialect.name == "postgresql":
                other.execute(text("SET LOCAL lock_timeout = '100ms'"))
            other.execute(update(Run).where(Run.id == run_id).values(error=None))
            other.flush()
        except OperationalError:
            return True
        finally:
            other.rollback()
    return False


@pytest.mark.parametrize("exclusive", [False, True])
def test_the_lock_keeps_other_writers_out_until_the_transaction_ends(
    settings: Settings,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    exclusive: bool,
) -> None:
    project = make_project()
    run_id = build_run(session_factory, project).run_id
    impatient = _impatient(settings)

    with session_factory() as session:
        run = lock_run(session, run_id, project_id=project.id, exclusive=exclusive)
        assert run is not None and run.id == run_id
        assert _other_writer_blocked(impatient, run_id)
        session.commit()
    assert not _other_writer_blocked(impatient, run_id)


def test_a_run_of_another_project_is_not_found(
    session_factory: SessionFactory, make_project: Callable[..., Project]
) -> None:
    project, other = make_project(), make_project()
    run_id = build_run(session_factory, project).run_id

    with session_scope(session_factory) as session:
        assert lock_run(session, run_id, project_id=other.id) is None


def test_shared_then_exclusive_in_one_transaction_is_refused_but_a_new_transaction_may(
    session_factory: SessionFactory, make_project: Callable[..., Project]
) -> None:
    project = make_project()
    run_id = build_run(session_factory, project).run_id

    with session_factory() as session:
        assert lock_run(session, run_id, project_id=project.id, exclusive=True) is not None
        assert lock_run(session, run_id, project_id=project.id) is not None  # weaker again: fine
        session.rollback()
        assert lock_run(session, run_id, project_id=project.id) is not None
        with pytest.raises(LockUpgrade):
            lock_run(session, run_id, project_id=project.id, exclusive=True)
        session.rollback()
        assert lock_run(session, run_id, project_id=project.id, exclusive=True) is not None
