"""Open-item books: the open items of a dataset for one rule-set version and side, with their blocking
keys, built once (on the first instant request that needs it) in bulk.

Seeded from the dataset's latest succeeded run (its records on that side that are unmatched or reconciling
items, ingest-rejected ones excepted) or, when no run used the dataset, from all its records; refreshed the
same way when a newer run of the dataset has succeeded (the items instant requests closed stay closed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import Select, delete, or_, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from recon.core.db import SessionFactory
from recon.core.money import sortable_text
from recon.core.time import utcnow
from recon.instant.plan import InstantPlan
from recon.models import (
    Dataset,
    DatasetRecord,
    OpenItem,
    OpenItemBook,
    OpenItemClose,
    OpenItemKey,
    RuleSetVersion,
    Run,
    RunItem,
    RunStatus,
)
from recon.models.datasets import RECORD_FIELDS
from recon.models.instant import BookStatus
from recon.models.runs import ItemState, UnmatchedReason

log = structlog.get_logger("recon.instant")
BATCH = 10_000
ANALYZE_LOCK_TIMEOUT = "2s"
LOCK_NOT_AVAILABLE = "55P03"
ITEM_COLUMNS = ("book_id", "row_no", "ext_id", "date", "value_date", "amount", "currency", "reference",
                "counterparty", "description")  # fmt: skip
OPEN_STATES = (ItemState.UNMATCHED, ItemState.RECONCILING)


def find_book(session: Session, dataset_id: str, version_id: str, side: str) -> OpenItemBook | None:
    return session.scalar(
        select(OpenItemBook).where(
            OpenItemBook.dataset_id == dataset_id,
            OpenItemBook.ruleset_version_id == version_id,
            OpenItemBook.side == side,
        )
    )


def create_book(
    session: Session, dataset: Dataset, version: RuleSetVersion, side: str, status: str
) -> OpenItemBook:
    """The book's row (items come with `fill_book`); the unique (dataset, version, side) makes a concurrent
    second creator fail with an IntegrityError (409) rather than build twice."""
    run = _latest_run(session, dataset.id, side)
    book = OpenItemBook(
        project_id=dataset.project_id,
        dataset_id=dataset.id,
        ruleset_version_id=version.id,
        side=side,
        status=status,
        seeded_from_run_id=run.id if run else None,
    )
    session.add(book)
    session.flush()
    return book


def stale(session: Session, book: OpenItemBook) -> Run | None:
    """The dataset's latest succeeded run on the book's side when the book was seeded from another (older)
    one or from the records: the book is refreshed from it."""
    run = _latest_run(session, book.dataset_id, book.side)
    return run if run is not None and run.id != book.seeded_from_run_id else None


def fill_book(session: Session, book: OpenItemBook, plan: InstantPlan) -> None:
    """Copy the open records and their blocking keys into the book, in bulk, and mark it ready. A refresh
    (`seeded_from_run_id` moved to a newer run) replaces the book's items; what instant requests closed stays
    closed (`open_item_closes` is kept and its rows are not copied again)."""
    run = session.get(Run, book.seeded_from_run_id) if book.seeded_from_run_id else None
    query = _run_query(run, book.side) if run else _dataset_query(book.dataset_id)
    closed = set(session.scalars(select(OpenItemClose.row_no).where(OpenItemClose.book_id == book.id)))
    for model in (OpenItemKey, OpenItem):  # nothing for a new book
        session.execute(delete(model).where(model.book_id == book.id))
    count = 0
    for page in _pages(session, query):
        batch = [r for r in page if r["row_no"] not in closed]
        items = [{"book_id": book.id, **r} for r in batch]
        keys = [
            {"book_id": book.id, "pass_no": p.number, "key": key, "row_no": r["row_no"]}
            for r in batch
            for p in plan.passes
            for key in p.keys(_as_record(r), "item")
        ]
        _insert(session, OpenItem, ITEM_COLUMNS, items)
        _insert(session, OpenItemKey, ("book_id", "pass_no", "key", "row_no"), keys)
        count += len(batch)
    book.items = book.open_items = count
    book.status = BookStatus.READY
    if session.get_bind().dialect.name == "postgresql":
        _analyze(session)
    book.updated_at = utcnow()
    session.flush()
    log.info(
        "open_item_book_built",
        book_id=book.id,
        dataset_id=book.dataset_id,
        items=count,
        run_id=book.seeded_from_run_id,
    )


def _analyze(session: Session) -> None:
    """Fresh statistics (the lookups were planned as on empty tables without them). The ANALYZE waits at
    most ANALYZE_LOCK_TIMEOUT for the tables' lock, which an indexing job's VACUUM holds for its duration;
    past it the book is ready without them (the lookups force index nested loops anyway, ADR 0017), and
    the job's VACUUM (ANALYZE) or autovacuum brings them."""
    before = session.execute(text("SHOW lock_timeout")).scalar_one()
    try:
        with session.begin_nested():  # a timeout rolls back the savepoint only (and its SET LOCAL)
            session.execute(text(f"SET LOCAL lock_timeout = '{ANALYZE_LOCK_TIMEOUT}'"))
            session.execute(text("ANALYZE open_items, open_item_keys"))
            session.execute(text("SELECT set_config('lock_timeout', :before, true)"), {"before": before})
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        log.warning("open_item_book_analyze_skipped", reason="lock timeout")


def vacuum_books(session_factory: SessionFactory) -> None:
    """PostgreSQL, after a job built a book: VACUUM (ANALYZE) the book tables, outside a transaction. Sets the
    visibility map of the new rows, so that the lookups' index-only scans of open_item_keys stop visiting
    the heap for every hit (ADR 0017: lookups 87 -> 70 and 258 -> 178 ms at 100k items), and refreshes the
    statistics. Not inside a request: it holds the tables' SHARE UPDATE EXCLUSIVE lock while it runs."""
    with session_factory() as session:
        engine = session.get_bind().engine
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM (ANALYZE) open_item_keys, open_items")


def drop_book_rows(session: Session, book_id: str) -> None:
    """The bulk rows of a book (no foreign keys: the code deletes them with the book)."""
    for model in (OpenItemKey, OpenItem, OpenItemClose):
        session.execute(delete(model).where(model.book_id == book_id))


def _as_record(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "id": row["ext_id"]}


def _latest_run(session: Session, dataset_id: str, side: str) -> Run | None:
    column = Run.left_dataset_id if side == "left" else Run.right_dataset_id
    return session.scalar(
        select(Run)
        .where(column == dataset_id, Run.status == RunStatus.SUCCEEDED)
        .order_by(Run.created_at.desc(), Run.id.desc())
        .limit(1)
    )


def _run_query(run: Run, side: str) -> Any:
    return select(RunItem.row_no, *(getattr(RunItem, name) for name in RECORD_FIELDS)).where(
        RunItem.run_id == run.id,
        RunItem.side == side,
        RunItem.state.in_(OPEN_STATES),
        RunItem.carried_from_id.is_(None),  # records of earlier periods' datasets are not this dataset's
        or_(RunItem.reason.is_(None), RunItem.reason != UnmatchedReason.REJECTED),
    )


def _dataset_query(dataset_id: str) -> Any:
    return select(
        DatasetRecord.row_no,
        DatasetRecord.ext_id,
        DatasetRecord.date,
        DatasetRecord.value_date,
        DatasetRecord.amount,
        DatasetRecord.currency,
        DatasetRecord.reference,
        DatasetRecord.counterparty,
        DatasetRecord.description,
    ).where(DatasetRecord.dataset_id == dataset_id)  # fmt: skip


def _pages(session: Session, stmt: Select[Any]) -> Iterator[list[dict[str, Any]]]:
    """Pages of BATCH rows in row order (keyset on row_no), each read completely before the caller writes
    (no cursor stays open across the inserts)."""
    row_no = stmt.selected_columns.row_no
    last = 0
    while True:
        page = session.execute(stmt.where(row_no > last).order_by(row_no).limit(BATCH)).all()
        if not page:
            return
        last = page[-1].row_no
        yield [_row(r._asdict()) for r in page]


def _row(row: dict[str, Any]) -> dict[str, Any]:
    row.setdefault("value_date", None)
    if not row.get("ext_id"):
        row["ext_id"] = f"row {row['row_no']}"
    return row


def _insert(session: Session, model: Any, columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
    """COPY on PostgreSQL (psycopg adapts Decimal and date); an executemany INSERT on SQLite (the Money type
    writes its sortable text)."""
    if not rows:
        return
    names = ", ".join(f'"{c}"' for c in columns)
    raw: Any = session.connection().connection.driver_connection
    if session.get_bind().dialect.name != "postgresql":  # what the column types would write, without them
        sql = f"INSERT INTO {model.__tablename__} ({names}) VALUES ({', '.join('?' for _ in columns)})"
        cursor = raw.cursor()
        try:
            cursor.executemany(sql, ([_sqlite_value(row[c]) for c in columns] for row in rows))
        finally:
            cursor.close()
        return
    with raw.cursor() as cursor, cursor.copy(f"COPY {model.__tablename__} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return sortable_text(value)  # recon.models.types.Money on SQLite
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
