"""SQLite results are written in multi-row INSERTs: every row lands once, in order, with its values, whatever
the statement size SQLite's bound-variable limit allows (docs/adr/0025)."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import pyarrow as pa
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from recon.runs import persist


@pytest.mark.parametrize(("rows", "variable_limit"), [(1, 32766), (250, 32766), (257, 7), (5, 3)])
def test_every_row_lands_once_in_order(rows: int, variable_limit: int) -> None:
    engine = create_engine("sqlite://")
    with Session(engine) as session:
        session.execute(
            text(
                "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, amount TEXT,"
                " state TEXT CHECK (state IN ('a', 'b', 'c')))"
            )
        )
        session.connection().connection.driver_connection.setlimit(
            sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, variable_limit
        )
        table = pa.table(
            {
                "name": pa.array([None if i % 3 == 0 else f"n{i}" for i in range(rows)], pa.string()),
                "amount": pa.array([Decimal(i) / 100 for i in range(rows)], pa.decimal128(12, 2)),
                "state": pa.array(["abc"[i % 3] for i in range(rows)]),
            }
        )
        persist.insert_rows(session, "t", table)
        stored = session.execute(text("SELECT id, name, amount, state FROM t ORDER BY id")).all()
    assert [row.id for row in stored] == list(range(1, rows + 1))
    assert [row.name for row in stored] == table.column("name").to_pylist()
    assert [row.state for row in stored] == table.column("state").to_pylist()
    # money as the sortable text the Money type stores on SQLite
    assert [row.amount for row in stored] == persist._sqlite_values(table.column("amount"))


def test_a_bad_row_fails_the_whole_insert() -> None:
    engine = create_engine("sqlite://")
    with Session(engine) as session:
        session.execute(
            text("CREATE TABLE t (id INTEGER PRIMARY KEY, state TEXT CHECK (state IN ('a', 'b', 'c')))")
        )
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            persist.insert_rows(session, "t", pa.table({"state": ["a", "b", "z", "c"]}))


def test_the_write_cache_is_the_connections_own_size_again_after_the_inserts() -> None:
    """A run's inserts get a large page cache (docs/adr/0029); the pooled connection keeps its own size,
    also when an insert fails, and the rows written under it are in the transaction."""
    engine = create_engine("sqlite://")
    with Session(engine) as session:
        driver = session.connection().connection.driver_connection
        driver.execute("PRAGMA cache_size = -1234")
        session.execute(
            text("CREATE TABLE t (id INTEGER PRIMARY KEY, state TEXT CHECK (state IN ('a', 'b')))")
        )
        seen: list[int] = []
        with persist._write_cache(session):
            seen.append(driver.execute("PRAGMA cache_size").fetchone()[0])
            persist.insert_rows(session, "t", pa.table({"state": ["a", "b"]}))
        assert seen == [-persist.SQLITE_WRITE_CACHE_KIB]
        assert driver.execute("PRAGMA cache_size").fetchone()[0] == -1234
        with pytest.raises(sqlite3.IntegrityError), persist._write_cache(session):
            persist.insert_rows(session, "t", pa.table({"state": ["z"]}))
        assert driver.execute("PRAGMA cache_size").fetchone()[0] == -1234
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 2
