"""Engine, sessions and the request-scoped `DbSession` dependency.

Only boundaries commit: `DbSession` commits when the endpoint has produced its response (before it is sent)
and rolls back on any error; jobs open their own sessions with `session_scope`. Services and repositories
`flush()` when they need ids or constraint checks, never `commit()`.
"""

from __future__ import annotations

import select
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, cast

import anyio.to_thread
from anyio import CancelScope, CapacityLimiter
from fastapi import Depends, Request
from sqlalchemy import CursorResult, Engine, Result, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from recon.config import Settings
from recon.core.money import register_sqlite_money

SessionFactory = sessionmaker[Session]


def normalize_database_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def create_db_engine(settings: Settings, **overrides: Any) -> Engine:
    url = make_url(normalize_database_url(settings.database_url))
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(settings, url.render_as_string(hide_password=False), **overrides)
    kwargs: dict[str, Any] = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout_s,
        # No pool_pre_ping (a round trip per checkout, i.e. per request): connections are recycled after
        # 30 minutes, and one the server has closed is found at checkout without a round trip (below).
        "pool_recycle": 1800,
        "echo": settings.db_echo,
        "connect_args": {"connect_timeout": 5},
    }
    kwargs.update(overrides)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkout", _drop_if_closed_by_server)
    return engine


def _drop_if_closed_by_server(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """Checkout of an idle PostgreSQL connection: a closed one, or one whose socket has something to read
    (an idle pooled connection receives nothing unless the server ended it: restart, pg_terminate_backend,
    idle timeout) is discarded and the pool hands out another (SQLAlchemy retries the checkout on
    DisconnectionError). A select() of the socket, no round trip: what pool_pre_ping did for ~a round trip
    per request."""
    try:
        closed = dbapi_conn.closed or dbapi_conn.fileno() < 0
        readable = not closed and bool(select.select([dbapi_conn.fileno()], [], [], 0)[0])
    except Exception:
        closed, readable = True, False
    if closed or readable:
        raise DisconnectionError("the server closed this pooled connection")


def _sqlite_engine(settings: Settings, url: str, **overrides: Any) -> Engine:
    database = make_url(url).database
    in_memory = not database or database == ":memory:"
    if database and not in_memory:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {
        "connect_args": {"check_same_thread": False, "timeout": settings.sqlite_busy_timeout_ms / 1000},
        "echo": settings.db_echo,
    }
    if not in_memory:
        # Pooled like PostgreSQL: a new SQLite connection re-reads the whole schema on its first query and
        # the last one to close checkpoints the WAL (measured: an authenticated request's database work
        # 14.8 ms with a connection per request, 1.2 ms pooled; docs/adr/0016). A connection is lent to
        # one thread at a time (check_same_thread=False only lets it change threads between loans).
        kwargs.update(
            poolclass=QueuePool,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_s,
        )
    kwargs.update(overrides)
    engine = create_engine(url, **kwargs)
    busy_ms = settings.sqlite_busy_timeout_ms

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        register_sqlite_money(dbapi_conn)  # exact money sums (recon.models.types.money_sum)

    return engine


def create_session_factory(engine: Engine) -> SessionFactory:
    # expire_on_commit=False: objects stay readable after the boundary commits (responses, job results).
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def session_scope(factory: SessionFactory) -> Iterator[Session]:
    """A unit of work outside a request (jobs, CLI): commit on success, roll back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_session_factory(request: Request) -> SessionFactory:
    factory: SessionFactory = request.app.state.session_factory
    return factory


async def get_db_session(request: Request) -> AsyncIterator[Session]:
    """The request's session, ended like `session_scope` (commit on success, else roll back; then close).

    Made on the event loop (no I/O: its connection is taken on its first query, in the worker thread that
    runs it) and ended in a worker thread (COMMIT is I/O), shielded from cancellation like FastAPI ends a
    sync generator dependency: one thread hop per request instead of two (docs/adr/0026, fourth pass)."""
    session = get_session_factory(request)()
    try:
        yield session
    except BaseException:
        with CancelScope(shield=True):
            await anyio.to_thread.run_sync(_end_session, session, False, limiter=CapacityLimiter(1))
        raise
    with CancelScope(shield=True):
        await anyio.to_thread.run_sync(_end_session, session, True, limiter=CapacityLimiter(1))


def _end_session(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": the teardown (commit) runs once the endpoint's response is built but BEFORE it is sent,
# so a failed commit becomes an error response instead of a silent loss after a 2xx.
DbSession = Annotated[Session, Depends(get_db_session, scope="function")]


def driver_rows(result: Result[Any]) -> list[tuple[Any, ...]]:
    """A result's rows as the driver returns them (plain tuples, no type processing), and the result closed.

    For hot read paths that convert the few columns they need themselves (the results lists: a page of 1000
    groups is ~3000 rows; SQLAlchemy's Row objects and per-column processors were ~a fifth of its CPU). The
    values are the driver's: on SQLite dates and datetimes are ISO text, on PostgreSQL datetimes carry the
    session's time zone."""
    try:
        return list(cast(CursorResult[Any], result).cursor.fetchall())
    finally:
        result.close()
