"""Bulk writing of a run's results: COPY on PostgreSQL, multi-row INSERTs on SQLite.

SQLite (one writer): groups, items and the run's final status commit in ONE transaction, the caller's.
PostgreSQL: the items and matched_group_amounts are COPYed on a second connection in their own transaction,
committed first, while the caller's transaction (which holds the run's row lock) writes the groups and then
flips the run to `succeeded`: two backends on two cores. Every reader of the results gates on the run having
succeeded, so rows committed before the run's flip are visible to nobody; the next attempt of the run deletes
them first, and a run that ends failed or cancelled loses them (docs/adr/0033-persist-on-two-connections.md).

PostgreSQL keeps each run's results in partitions of its own (recon.runs.partitions, docs/adr/0038): a
first attempt creates them in the two transactions, COPYs with FREEZE, builds their indexes at once and
attaches them last (the items' just before their commit, the groups' after the items' commit). A partition
that exists already (an attempt whose items committed, or a failed run) is emptied and written as before.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from itertools import chain
from sqlite3 import SQLITE_LIMIT_VARIABLE_NUMBER
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import structlog
from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.orm import Session

from recon.core.money_arrow import to_sortable_text
from recon.engine import EngineError
from recon.models.runs import (
    GroupOrigin,
    GroupStatus,
    ItemState,
    MatchedGroupAmount,
    MatchGroup,
    Run,
    RunItem,
    RunStatus,
)
from recon.runs.outcome import BuiltItems, Outcome, finish_outcome
from recon.runs.partitions import (
    attach_partition,
    build_partition,
    create_partition,
    partition_exists,
    partition_name,
)
from recon.runs.repository import delete_results

log = structlog.get_logger("recon.runs")
COPY_BATCH_ROWS = 100_000
SQLITE_BATCH_ROWS = 20_000
SQLITE_ROWS_PER_STATEMENT = 100
# SQLite's page cache (KiB) while a run's results are written; SQLite's default is 2 MB. Index entries written
# at random places (then one per group in the amount index, now the open groups' and the open items'): with
# 2 MB the write transaction spilled its dirty pages and read them back for the next entries (100k x 100k:
# groups 2.3-2.5 -> 1.6 s CPU, docs/adr/0029). Pages are taken as needed, up to this bound.
SQLITE_WRITE_CACHE_KIB = 262_144
# Group statuses and item states that are open exceptions (they have an age).
OPEN_GROUP_STATUSES = (GroupStatus.BREAK, GroupStatus.SUGGESTED)
OPEN_ITEM_STATES = (ItemState.UNMATCHED, ItemState.BREAK, ItemState.SUGGESTED)
GROUP_COLUMNS = (
    "id",
    "run_id",
    "seq",
    "pass_name",
    "kind",
    "origin",
    "status",
    "score",
    "explanation",
    "left_count",
    "right_count",
    "left_total",
    "right_total",
    "difference",
    "writeoff_amount",
    "writeoff_reason",
    "currency",
    "opened_at",
    "version",
    "amount_listed",
)
ITEM_COLUMNS = (
    "run_id",
    "side",
    "row_no",
    "ext_id",
    "date",
    "amount",
    "currency",
    "reference",
    "counterparty",
    "description",
    "state",
    "reason",
    "detail",
    "group_id",
    "opened_at",
    "carried_from_id",
    "origin_dataset_id",
    "version",
)
# Item columns copied from the outcome as they are.
OUTCOME_ITEM_COLUMNS = ITEM_COLUMNS[1:13]
UTC_TS = pa.timestamp("us", tz="UTC")
# Statistics of the columns the results queries filter, join and sort on; not of the documents and texts
# (explanation, description, ...), whose statistics no plan uses and which cost the ANALYZE most (detoasting
# and hashing every sampled value): 2.1-2.2 -> 1.1-1.2 s at 100k x 100k; at 1M x 1M 0.8-2.6 s either way,
# within the noise of a shared machine (docs/adr/0016).
# Of the run's partitions (the parents' statistics would sample every run's; plans pruned to one partition
# use the partition's).
ANALYZE_GROUPS = (
    "run_id, seq, status, pass_name, score, left_total, difference, opened_at, assignee_id, currency"
)
ANALYZE_ITEMS = (
    "run_id, side, state, reason, group_id, row_no, amount, date, opened_at, assignee_id, currency"
)


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _driver(session: Session) -> Any:
    return session.connection().connection.driver_connection


def carried_opened_at(session: Session, run: Run) -> dict[str, dict[int, dt.datetime]]:
    """{side: {row_no: opened_at}}: since when each record of the run's datasets has been an exception, per
    the earlier succeeded runs of the project where it still is one (same dataset, same side)."""
    found: dict[str, dict[int, dt.datetime]] = {"left": {}, "right": {}}
    earlier = and_(Run.project_id == run.project_id, Run.id != run.id, Run.status == RunStatus.SUCCEEDED)
    per_side = or_(
        and_(RunItem.side == "left", Run.left_dataset_id == run.left_dataset_id),
        and_(RunItem.side == "right", Run.right_dataset_id == run.right_dataset_id),
    )
    # The earlier runs named in the query: PostgreSQL plans their partitions only, not every run's.
    earlier_ids = list(session.scalars(select(Run.id).where(earlier)))
    if not earlier_ids:
        return found
    rows = session.execute(
        select(RunItem.side, RunItem.row_no, func.min(RunItem.opened_at))
        .join(Run, Run.id == RunItem.run_id)
        # Open exceptions of earlier runs (the partial exception indexes serve this).
        .where(
            RunItem.run_id.in_(earlier_ids),
            earlier,
            per_side,
            RunItem.state != ItemState.MATCHED,
            RunItem.opened_at.is_not(None),
            # carried records of another dataset: their row_no is a row there, not of this dataset
            RunItem.origin_dataset_id.is_(None),
        )
        .group_by(RunItem.side, RunItem.row_no)
    )
    for side, row_no, opened_at in rows:
        if opened_at is not None:
            found[side][row_no] = opened_at
    return found


# -- ids of the new groups ------------------------------------------------------------------------------
def allocate_group_ids(session: Session, count: int) -> npt.NDArray[np.int64]:
    """`count` fresh primary keys for match_groups (the table's sequence; SQLite: after the current max,
    safe because the caller's transaction already holds SQLite's write lock)."""
    if count == 0:
        return np.zeros(0, np.int64)
    if _is_postgres(session):
        sequence = session.scalar(text("SELECT pg_get_serial_sequence('match_groups', 'id')"))
        values = "SELECT nextval(CAST(:seq AS regclass)) AS v FROM generate_series(1, :n)"
        # Usually one contiguous block: then only its bounds travel. When concurrent inserts took values in
        # between, those are left as gaps and the values of a second draw are fetched one by one.
        bounds = text(f"SELECT min(v), max(v) FROM ({values}) AS s")
        low, high = session.execute(bounds, {"seq": sequence, "n": count}).one()
        if high - low + 1 == count:
            return np.arange(low, high + 1, dtype=np.int64)
        drawn = session.execute(text(f"{values} ORDER BY 1"), {"seq": sequence, "n": count}).scalars()
        return np.fromiter(drawn, np.int64, count)
    start = session.scalar(select(func.coalesce(func.max(MatchGroup.id), 0))) or 0
    return np.arange(start + 1, start + 1 + count, dtype=np.int64)


# -- tables in column order -----------------------------------------------------------------------------
def _timestamps(mask: npt.NDArray[np.bool_], at: dt.datetime) -> pa.Array:
    value = np.datetime64(at.astimezone(dt.UTC).replace(tzinfo=None), "us")
    return pa.array(np.full(len(mask), value), UTC_TS, mask=~mask)


def group_rows(run_id: str, groups: pa.Table, ids: npt.NDArray[np.int64], now: dt.datetime) -> pa.Table:
    """Outcome.groups as match_groups rows with the ids `allocate_group_ids` drew."""
    n = groups.num_rows
    is_open = np.asarray(pc.is_in(groups.column("status"), pa.array(OPEN_GROUP_STATUSES)).to_numpy(False))
    matched = pc.fill_null(pc.equal(groups.column("status"), pa.scalar(GroupStatus.MATCHED.value)), False)
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "run_id": pa.repeat(pa.scalar(run_id), n),
            "seq": groups.column("seq"),
            "pass_name": groups.column("pass_name"),
            "kind": groups.column("kind"),
            "origin": pa.repeat(pa.scalar(GroupOrigin.ENGINE), n),
            "status": groups.column("status"),
            "score": groups.column("score"),
            "explanation": groups.column("explanation"),
            "left_count": groups.column("left_count"),
            "right_count": groups.column("right_count"),
            "left_total": groups.column("left_total"),
            "right_total": groups.column("right_total"),
            "difference": groups.column("difference"),
            "writeoff_amount": groups.column("writeoff_amount"),
            "writeoff_reason": groups.column("writeoff_reason"),
            "currency": groups.column("currency"),
            "opened_at": _timestamps(is_open.astype(bool), now),
            "version": pa.repeat(pa.scalar(1, pa.int64()), n),
            # listed in matched_group_amounts (`matched_amount_rows`)
            "amount_listed": matched,
        }
    )


AMOUNT_ORDER = [("left_total", "ascending"), ("seq", "ascending")]


def matched_amount_rows(groups: pa.Table) -> pa.Table:
    """The rows of matched_group_amounts for `group_rows(...)`: its listed (matched) groups, in the table's
    key order (left_total, seq), so that their inserts append instead of landing at random places."""
    listed = groups.filter(groups.column("amount_listed"))
    rows = pa.table(
        {
            "run_id": listed.column("run_id"),
            "left_total": listed.column("left_total"),
            "seq": listed.column("seq"),
            "group_id": listed.column("id"),
        }
    )
    return rows.take(pc.sort_indices(rows, AMOUNT_ORDER))


@dataclass(frozen=True)
class Carried:
    """A reconciling item of the carried-from run that this run's record continues: appended to the side
    (its outcome row_no is negative) or found in the side's dataset by id (row_no positive)."""

    item_id: int
    origin_dataset_id: str | None  # the dataset its record comes from when appended
    origin_row_no: int
    opened_at: dt.datetime | None


# side -> outcome row_no -> what it carries
CarryMap = dict[str, dict[int, Carried]]


def item_rows(
    run_id: str,
    items: pa.Table,
    ids: npt.NDArray[np.int64],
    now: dt.datetime,
    carried: dict[str, dict[int, dt.datetime]],
    *,
    carry: CarryMap | None = None,
) -> pa.Table:
    """Outcome.items as run_items rows, each pointing at its group's id."""
    n = items.num_rows
    seq = items.column("group_seq")
    group_id = (
        pc.take(pa.array(ids, pa.int64()), pc.subtract(seq, 1)) if len(ids) else pa.nulls(n, pa.int64())
    )
    is_open = np.asarray(pc.is_in(items.column("state"), pa.array(OPEN_ITEM_STATES)).to_numpy(False), bool)
    opened = _timestamps(is_open, now)
    if carried["left"] or carried["right"]:
        opened = _carry(items, opened, is_open, carried)
    columns = {name: items.column(name) for name in OUTCOME_ITEM_COLUMNS}
    carried_from: pa.Array = pa.nulls(n, pa.int64())
    origin: pa.Array = pa.nulls(n, pa.string())
    if carry and (carry.get("left") or carry.get("right")):
        columns["row_no"], carried_from, origin, opened = _carried_columns(items, opened, is_open, carry)
    return pa.table(
        {
            "run_id": pa.repeat(pa.scalar(run_id), n),
            **columns,
            "group_id": group_id,
            "opened_at": opened,
            "carried_from_id": carried_from,
            "origin_dataset_id": origin,
            "version": pa.repeat(pa.scalar(1, pa.int64()), n),
        }
    )


def _carried_columns(
    items: pa.Table, opened: pa.Array, is_open: npt.NDArray[np.bool_], carry: CarryMap
) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """row_no (the origin row for appended records), carried_from_id, origin_dataset_id and opened_at (the
    first appearance, for those still open) of carried records."""
    sides = items.column("side").to_numpy(zero_copy_only=False)
    rows = items.column("row_no").to_numpy().copy()
    carried_from: list[int | None] = [None] * len(rows)
    origin: list[str | None] = [None] * len(rows)
    stamps = opened.to_numpy(zero_copy_only=False).astype("datetime64[us]")
    for index in range(len(rows)):
        found = carry.get(sides[index], {}).get(int(rows[index]))
        if found is None:
            continue
        carried_from[index] = found.item_id
        origin[index] = found.origin_dataset_id
        rows[index] = found.origin_row_no
        if is_open[index] and found.opened_at is not None:
            first = np.datetime64(found.opened_at.astimezone(dt.UTC).replace(tzinfo=None), "us")
            stamps[index] = min(stamps[index], first)
    return (
        pa.array(rows, pa.int64()),
        pa.array(carried_from, pa.int64()),
        pa.array(origin, pa.string()),
        pa.array(stamps, UTC_TS, mask=~is_open),
    )


def _carry(
    items: pa.Table,
    opened: pa.Array,
    is_open: npt.NDArray[np.bool_],
    carried: dict[str, dict[int, dt.datetime]],
) -> pa.Array:
    values = opened.to_numpy(zero_copy_only=False).astype("datetime64[us]")
    sides = items.column("side").to_numpy(zero_copy_only=False)
    rows = items.column("row_no").to_numpy()
    for index in np.flatnonzero(is_open):
        earlier = carried[sides[index]].get(int(rows[index]))
        if earlier is not None:
            stamp = np.datetime64(earlier.astimezone(dt.UTC).replace(tzinfo=None), "us")
            values[index] = min(values[index], stamp)
    return pa.array(values, UTC_TS, mask=~is_open)


# -- writing ---------------------------------------------------------------------------------------------
def insert_order(items: pa.Table) -> npt.NDArray[np.int64]:
    """Items in group order (members of group 1, of group 2, ...), then the ungrouped ones in file order.

    Inserting in this order appends to the right edge of the (run_id, group_id) index and of the primary key
    instead of touching random pages: measured on 1.94M items, 12.4 s -> see ADR 0004. Item ids then follow
    it: ungrouped items (the exception lists' default order) keep their file order per side."""
    seq = pc.fill_null(items.column("group_seq"), np.iinfo(np.int64).max).to_numpy()
    return np.argsort(seq, kind="stable")  # stable: side, row_no order kept within a group and after


def insert_rows(
    session: Session,
    table_name: str,
    rows: pa.Table,
    order: npt.NDArray[np.int64] | None = None,
    *,
    freeze: bool = False,
) -> None:
    """Bulk insert `rows` (in `order`, row positions, when given). `freeze` (PostgreSQL): into a table the
    transaction created, rows written frozen (no hint-bit rewrite and no freezing vacuum later)."""
    if rows.num_rows == 0:
        return
    if _is_postgres(session):
        _copy(session, table_name, rows, order, freeze=freeze)
    else:
        _sqlite_insert(session, table_name, rows if order is None else rows.take(pa.array(order)))


def _batch(rows: pa.Table, order: npt.NDArray[np.int64] | None, offset: int) -> pa.Table:
    if order is None:
        return rows.slice(offset, COPY_BATCH_ROWS)
    return rows.take(pa.array(order[offset : offset + COPY_BATCH_ROWS]))


def _csv_batches(rows: pa.Table, order: npt.NDArray[np.int64] | None) -> Iterator[memoryview]:
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    for offset in range(0, rows.num_rows, COPY_BATCH_ROWS):
        buffer = io.BytesIO()
        pacsv.write_csv(_batch(rows, order, offset), buffer, options)
        yield buffer.getbuffer()


def _copy(
    session: Session, table_name: str, rows: pa.Table, order: npt.NDArray[np.int64] | None, *, freeze: bool
) -> None:
    """COPY in CSV; the next batch is taken and formatted (pyarrow, without the GIL) in a thread while
    PostgreSQL takes this one."""
    columns = ", ".join(f'"{c}"' for c in rows.column_names)
    sql = f"COPY {table_name} ({columns}) FROM STDIN WITH (FORMAT csv{', FREEZE' if freeze else ''})"
    with (
        ThreadPoolExecutor(1, thread_name_prefix="recon-copy") as pool,
        _driver(session).cursor() as cursor,
        cursor.copy(sql) as copy,
    ):
        batches = _csv_batches(rows, order)
        pending = pool.submit(next, batches, None)
        while (batch := pending.result()) is not None:
            pending = pool.submit(next, batches, None)
            copy.write(batch)


def _sqlite_values(column: pa.ChunkedArray) -> list[Any]:
    """What the ORM types store on SQLite: ISO dates, money as exact sortable text, timestamps as
    'YYYY-MM-DD HH:MM:SS.ffffff' UTC."""
    kind = column.type
    if pa.types.is_date(kind):
        column = pc.cast(column, pa.string())
    elif pa.types.is_timestamp(kind):  # %S has the microseconds
        column = pc.strftime(pc.cast(column, pa.timestamp("us")), "%Y-%m-%d %H:%M:%S")
    elif pa.types.is_decimal(kind):
        column = to_sortable_text(column)
    values: list[Any] = column.to_pylist()
    return values


def _sqlite_insert(session: Session, table_name: str, rows: pa.Table) -> None:
    """Multi-row INSERTs (up to SQLITE_ROWS_PER_STATEMENT rows each), not one statement per row: SQLite
    evaluates a CHECK's `IN (...)` list of more than two values through a small table it builds once per
    statement execution, i.e. once per row with executemany (the state, status and kind checks of the
    results tables); measured on 194k items: 1.4 -> 0.95 s CPU (docs/adr/0025)."""
    columns = ", ".join(f'"{c}"' for c in rows.column_names)
    width = len(rows.column_names)
    driver = _driver(session)
    per_statement = max(
        1, min(SQLITE_ROWS_PER_STATEMENT, driver.getlimit(SQLITE_LIMIT_VARIABLE_NUMBER) // width)
    )
    one_row = f"({', '.join('?' for _ in rows.column_names)})"

    def statement(count: int) -> str:
        return f"INSERT INTO {table_name} ({columns}) VALUES {', '.join([one_row] * count)}"

    full = statement(per_statement)
    cursor = driver.cursor()
    try:
        for chunk in _chunks(rows):
            values = [_sqlite_values(chunk.column(name)) for name in chunk.column_names]
            flat = list(chain.from_iterable(zip(*values, strict=True)))
            step = per_statement * width
            for offset in range(0, len(flat), step):
                params = flat[offset : offset + step]
                count = len(params) // width
                cursor.execute(full if count == per_statement else statement(count), params)
    finally:
        cursor.close()


def _chunks(rows: pa.Table) -> Iterator[pa.Table]:
    for offset in range(0, rows.num_rows, SQLITE_BATCH_ROWS):
        yield rows.slice(offset, SQLITE_BATCH_ROWS)


@contextmanager
def _write_cache(session: Session) -> Iterator[None]:
    """SQLite: a page cache of SQLITE_WRITE_CACHE_KIB for the inserts, the connection's own size again
    after them (the pages stay in the transaction until its commit; a pooled connection keeps its size)."""
    if _is_postgres(session):
        yield
        return
    driver = _driver(session)
    previous = int(driver.execute("PRAGMA cache_size").fetchone()[0])
    driver.execute(f"PRAGMA cache_size = {-SQLITE_WRITE_CACHE_KIB}")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA cache_size = {previous}")


def write_results(
    session: Session, run: Run, outcome: Outcome, now: dt.datetime, carry: CarryMap | None = None
) -> None:
    """Replace the run's groups and items (one transaction: the caller's)."""
    _write(
        session,
        run,
        outcome.items,
        group_count=outcome.groups.num_rows,
        finish=lambda: outcome,
        now=now,
        carry=carry,
    )


def write_built_results(
    session: Session, run: Run, built: BuiltItems, now: dt.datetime, carry: CarryMap | None = None
) -> Outcome:
    """`write_results` of the outcome `built` finishes: its groups and digest are computed while PostgreSQL
    takes the items (the second core; docs/adr/0032). Returns the finished outcome."""
    finish = partial(finish_outcome, built)
    return _write(
        session, run, built.items, group_count=built.group_count, finish=finish, now=now, carry=carry
    )


def _write(
    session: Session,
    run: Run,
    items: pa.Table,
    *,
    group_count: int,
    finish: Callable[[], Outcome],
    now: dt.datetime,
    carry: CarryMap | None,
) -> Outcome:
    """Items first (their group ids are drawn before the groups exist), then the groups of `finish()`.
    PostgreSQL: on two connections at once (`_write_postgres`). SQLite's inserts are Python work that holds
    the GIL and SQLite has one writer: one transaction, the caller's, items first, then `finish`."""
    if not _is_postgres(session):
        delete_results(session, run.id)
    carried = carried_opened_at(session, run)
    ids = allocate_group_ids(session, group_count)
    with _write_cache(session):
        rows = item_rows(run.id, items, ids, now, carried, carry=carry)
        order = insert_order(items)
        if _is_postgres(session):
            return _write_postgres(
                session, run, rows, order, finish=finish, group_count=group_count, ids=ids, now=now
            )
        insert_rows(session, RunItem.__tablename__, rows, order)
        outcome = _finished(finish, group_count)
        groups = group_rows(run.id, outcome.groups, ids, now)
        insert_rows(session, MatchGroup.__tablename__, groups)
        insert_rows(session, MatchedGroupAmount.__tablename__, matched_amount_rows(groups))
        return outcome


def _finished(finish: Callable[[], Outcome], group_count: int) -> Outcome:
    outcome = finish()
    if outcome.groups.num_rows != group_count:
        raise EngineError(f"{outcome.groups.num_rows} groups, the items point at {group_count}")
    return outcome


class _Abandoned(Exception):
    """The groups' side failed before the items' transaction committed: it rolls back."""


def _write_postgres(
    session: Session,
    run: Run,
    rows: pa.Table,
    order: npt.NDArray[np.int64],
    *,
    finish: Callable[[], Outcome],
    group_count: int,
    ids: npt.NDArray[np.int64],
    now: dt.datetime,
) -> Outcome:
    """The items and matched_group_amounts on a second connection in their own transaction (`_write_items`,
    in a thread), while this thread finishes the outcome and COPYs the groups in the caller's transaction:
    two backends, two cores, each path about half of the rows' bytes. Returns once the items' transaction
    has committed, so the caller's commit (the groups and the run's flip to `succeeded`) always comes after
    it; when this thread fails before handing over the amounts, the items' transaction rolls back instead.
    The caller holds the run's row lock (FOR UPDATE) throughout: no other attempt of the run can start or
    write meanwhile. The groups' partition is attached last, after the items' commit: ATTACH holds its
    locks (the parent's SHARE UPDATE EXCLUSIVE, SHARE ROW EXCLUSIVE on users for the assignee's key) until
    the caller commits, a few statements later."""
    amounts: Future[pa.Table] = Future()
    parts: dict[str, float] = {}  # the persist's parts, logged: which path was the critical one, and why
    started = time.perf_counter()
    with ThreadPoolExecutor(1, thread_name_prefix="recon-items") as pool:
        writing = pool.submit(_write_items, session.get_bind(), run.id, rows, order, amounts)
        try:
            groups_fresh = _open_partition(session, MatchGroup.__tablename__, run.id)
            with _part(parts, "groups_finish_s"):  # the groups and the digest (server CPU)
                outcome = _finished(finish, group_count)
                groups = group_rows(run.id, outcome.groups, ids, now)
                amounts.set_result(matched_amount_rows(groups))
            with _part(parts, "groups_copy_s"):
                target = partition_name(MatchGroup.__tablename__, run.id)
                insert_rows(session, target, groups, freeze=groups_fresh)
            # in the caller's transaction (ANALYZE samples the transaction's own new rows): the statistics
            # commit with the groups (docs/adr/0016-results-lists-and-storage.md)
            with _part(parts, "groups_index_analyze_s"):
                _close_partition(session, MatchGroup.__tablename__, run.id, groups_fresh, ANALYZE_GROUPS)
            groups_s = time.perf_counter() - started
        except BaseException:
            if not amounts.done():
                amounts.set_exception(_Abandoned())
            with suppress(_Abandoned):
                writing.result()  # rolled back (or committed already: deleted by the retry or the failure)
            raise
        items_s, items_parts = writing.result()  # committed, or its error: the items' COPY failed
    if groups_fresh:
        with _part(parts, "groups_attach_s"):
            attach_partition(session, MatchGroup.__tablename__, run.id)
    # which of the two connections was the persist's critical path, and its parts
    log.info(
        "run_results_written",
        run_id=run.id,
        items_s=round(items_s, 3),
        groups_s=round(groups_s, 3),
        **{name: round(value, 3) for name, value in {**parts, **items_parts}.items()},
    )
    return outcome


def _open_partition(session: Session, table: str, run_id: str) -> bool:
    """The run's partition of `table`, ready for its rows: created in this transaction (True: COPY FREEZE,
    then `_close_partition` builds its indexes, then attach it), or the existing one emptied (an earlier
    attempt's items committed, a failed run's partition): a DELETE, never a DROP, which would lock the
    parent against every reader."""
    if not partition_exists(session, table, run_id):
        create_partition(session, table, run_id)
        return True
    session.execute(text(f"DELETE FROM {partition_name(table, run_id)}"))
    return False


def _close_partition(session: Session, table: str, run_id: str, fresh: bool, analyze: str | None) -> None:
    """Indexes of a new partition built at once, and its statistics."""
    if fresh:
        build_partition(session, table, run_id, analyze)
    else:
        columns = f" ({analyze})" if analyze else ""
        session.execute(text(f"ANALYZE {partition_name(table, run_id)}{columns}"))


@contextmanager
def _part(parts: dict[str, float], name: str) -> Iterator[None]:
    """Adds the wall seconds of the block to parts[name]."""
    started = time.perf_counter()
    try:
        yield
    finally:
        parts[name] = parts.get(name, 0.0) + time.perf_counter() - started


def _write_items(
    bind: Any, run_id: str, rows: pa.Table, order: npt.NDArray[np.int64], amounts: Future[pa.Table]
) -> tuple[float, dict[str, float]]:
    """PostgreSQL: the run's items, then its matched_group_amounts once `amounts` has them, in their own
    transaction on their own connection, committed (replacing those of an earlier attempt). Their
    statistics are taken in it (ANALYZE samples the transaction's own new rows), so they commit with the
    rows: run after the commit, the ANALYZE raced the first list requests (docs/adr/0016). New partitions
    are attached just before the commit (ATTACH's locks are held until it). Returns its wall seconds and
    those of its parts."""
    parts: dict[str, float] = {}
    started = time.perf_counter()
    items, listed = RunItem.__tablename__, MatchedGroupAmount.__tablename__
    with Session(bind=bind) as items_session:
        with items_session.begin():
            with _part(parts, "items_delete_s"):
                items_fresh = _open_partition(items_session, items, run_id)
                amounts_fresh = _open_partition(items_session, listed, run_id)
            with _part(parts, "items_copy_s"):
                target = partition_name(items, run_id)
                insert_rows(items_session, target, rows, order, freeze=items_fresh)
            with _part(parts, "amounts_wait_s"):  # the groups' thread still finishing the outcome
                amount_rows = amounts.result()
            with _part(parts, "amounts_copy_s"):
                target = partition_name(listed, run_id)
                insert_rows(items_session, target, amount_rows, freeze=amounts_fresh)
            with _part(parts, "items_index_analyze_s"):
                _close_partition(items_session, items, run_id, items_fresh, ANALYZE_ITEMS)
                _close_partition(items_session, listed, run_id, amounts_fresh, None)
            with _part(parts, "items_attach_s"):
                for table, fresh in ((items, items_fresh), (listed, amounts_fresh)):
                    if fresh:
                        attach_partition(items_session, table, run_id)
            commit_started = time.perf_counter()
        parts["items_commit_s"] = time.perf_counter() - commit_started
    return time.perf_counter() - started, parts  # committed
