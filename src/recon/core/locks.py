"""The run lock: one explicit lock per transaction on a run, the rule every review write follows.

- PostgreSQL: `SELECT ... FOR SHARE` (review actions, which may run side by side) or `FOR UPDATE` (sign-off,
  reopen, and actions that number new groups). Held until the transaction ends.
- SQLite has one writer at a time: the database write lock is taken first (BEGIN IMMEDIATE when no write
  transaction is open yet), so the whole action is serialised and every read after it is current.

A transaction takes the lock it needs once, before anything else: asking for the exclusive lock after the
shared one would be a lock upgrade (two such transactions deadlock), so that is refused as a programming
error. Asking again for the same or a weaker lock is free: the rows are re-read, nothing more is locked.
"""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, SessionTransaction

from recon.models.runs import Run

_HELD = "recon.core.locks.runs"  # session.info: (the transaction, {run_id: exclusive?})


class LockUpgrade(RuntimeError):
    """The exclusive run lock was asked for after the shared one in the same transaction."""


def take_sqlite_write_lock(session: Session) -> None:
    """SQLite: hold the database write lock from now until the transaction ends (no-op elsewhere)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    driver: Any = connection.connection.driver_connection
    # pysqlite opens a transaction only before a write, so an open one already holds the write lock.
    if not driver.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _held(session: Session) -> dict[str, bool]:
    transaction: SessionTransaction | None = session.get_transaction()
    stored = session.info.get(_HELD)
    if stored is not None and transaction is not None and stored[0]() is transaction:
        held: dict[str, bool] = stored[1]
        return held
    fresh: dict[str, bool] = {}
    session.info[_HELD] = (weakref.ref(transaction) if transaction is not None else lambda: None, fresh)
    return fresh


def lock_run(session: Session, run_id: str, *, project_id: str, exclusive: bool = False) -> Run | None:
    """The run of the project, read afresh and locked until the transaction ends (None: no such run)."""
    take_sqlite_write_lock(session)  # also begins the transaction `_held` keys on
    held = _held(session)
    if exclusive and held.get(run_id) is False:
        raise LockUpgrade(f"run {run_id} is locked shared in this transaction; take the exclusive lock first")
    exclusive = exclusive or held.get(run_id, False)
    stmt = (
        select(Run)
        .where(Run.id == run_id, Run.project_id == project_id)
        .with_for_update(read=not exclusive)
        .execution_options(populate_existing=True)
    )
    run = session.scalar(stmt)
    if run is not None:
        held[run_id] = exclusive
    return run
