"""Where a run's persist goes, on PostgreSQL or SQLite: the results of one kept run written again per storage
variant, each in a transaction that is rolled back (the database is left as it was, but for a VACUUM).

    uv run python bench/api_run_bench.py --rows 100000 --no-lists --keep-db   # keeps recon_run_bench_<hex>
    uv run python bench/persist_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1/<db> \
        --run-id <id> --variants stored,json,constant,analyze-all,amount-partial --repeat 3
    uv run python bench/persist_bench.py --database-url sqlite:////tmp/<copy of the kept recon.db> \
        --run-id <id> --variants stored,constant,narrow,amount-partial,cache,bare --repeat 3

Besides the wall seconds of each step it prints the CPU seconds (user + sys) of the process doing the work:
this process on SQLite, the PostgreSQL backend of the session (from /proc, same machine) on PostgreSQL. On a
shared machine the CPU figures are the ones to compare; the load average is printed with them.

The run's inputs are loaded and reconciled again in this process (the same outcome the task persisted), its
stored results are deleted once (committed), then each variant, in turn per repetition after a VACUUM, times
the groups' COPY, the items' COPY and the ANALYZE (medians, min and max in seconds; ADR 0016 "Storage"):
- stored: as the task writes them (JSONB explanations, the ANALYZE of the planner's columns; the matched
  groups' rows of matched_group_amounts in amount order, step `amounts`, docs/adr/0031);
- amount-full: the groups' amount index full (one entry per group, at random places) and no
  matched_group_amounts, as before ADR 0031;
- analyze-all: ANALYZE of every column (as before ADR 0016's second session);
- json: explanations as `json` (ALTER TABLE inside the transaction);
- constant: every explanation `{}` (the floor of any design that keeps explanations elsewhere);
- amount-partial: the groups' (run_id, status, left_total, seq) index partial (open groups only), as before
  ADR 0026 made it full, and no matched_group_amounts: the floor of any way to serve "matched by amount";
- cache, cache64, cache-default (SQLite): a 256 MB / 64 MB / SQLite's default 2 MB page cache for the write
  transaction (`stored` is what the task does);
- amount-order (PostgreSQL): the groups COPYed in the order of the amount index, (status, left_total, seq),
  instead of seq order (the heap has no order; the ids stay those of seq order);
- amount-bigint: the amount index on a BIGINT copy of left_total (its count of 10**-10) instead of the
  NUMERIC (PostgreSQL) or 41-character text (SQLite): the floor of a narrower amount key;
- narrow: items without the record texts they copy (ext_id, reference, counterparty, description): the
  floor of items pointing at `dataset_records` instead (the lists would join them);
- bare: no secondary index on either table but the primary and unique keys (dropped inside the
  transaction): the floor of the inserts;
- no-members: run_items without its (run_id, group_id, side, row_no) index (the members' and every scan of
  a run's items): what that one full index costs;
- no-open: run_items without its partial indexes (the exception lists' four, the assignee's): what they cost;
- fresh (PostgreSQL): each table's rows COPYed (FREEZE) into a table of the same columns, defaults and checks
  created in the transaction, then the same indexes (primary and unique keys included) built on it at once
  (step `indexes`) and the ANALYZE of the same columns: the floor of a run's results in tables of their own
  (per-run partitions), against `stored`'s one index entry at a time into the shared tables.

On a database with the results partitioned by run (PostgreSQL after migration 0013, docs/adr/0038 Update)
the kept run's partitions are detached and dropped once (committed), and `stored` writes as the persist now
does, in one transaction: each table's partition created, COPYed with FREEZE (steps `groups`, `items`,
`amounts`), its keys and indexes built at once (`indexes`), ANALYZE of the partitions (`analyze`) and the
ATTACHes (`attach`); the other variants change the shared tables and are refused there.

`--wal` (PostgreSQL, on the database's machine, as root or postgres) also prints the WAL each step wrote,
from `pg_waldump --stats` over the step's LSN range filtered by the transaction's id: records, bytes and
full-page images, exact however many other databases write meanwhile.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from recon.config import Settings
from recon.core import money_arrow
from recon.core.db import SessionFactory, create_db_engine, create_session_factory
from recon.core.time import utcnow
from recon.models.runs import Run
from recon.runs import partitions, persist
from recon.runs.execute import load_inputs, run_engine
from recon.runs.outcome import Outcome, build_outcome
from recon.runs.persist import CarryMap

AMOUNT_INDEX_NAME = "ix_match_groups_run_id_status_left_total_seq_unlisted"
# variants without matched_group_amounts (their amount index holds the matched groups, or none of them)
WITHOUT_AMOUNTS = ("amount-full", "amount-partial", "amount-bigint")
SETUP = {
    "json": "ALTER TABLE match_groups ALTER COLUMN explanation TYPE json USING explanation::json",
    # the groups' amount index as before ADR 0026: partial (open groups) instead of one entry per group
    "amount-partial": f"DROP INDEX {AMOUNT_INDEX_NAME};"
    " CREATE INDEX bench_amount ON match_groups (run_id, status, left_total, seq) WHERE status <> 'matched'",
    # as before ADR 0031: one entry per group in the amount index, no matched_group_amounts
    "amount-full": f"DROP INDEX {AMOUNT_INDEX_NAME};"
    " CREATE INDEX bench_amount ON match_groups (run_id, status, left_total, seq)",
    # the amount index on a BIGINT of the amount (10**-10 units), not NUMERIC(38, 10) / SQLite's 41-byte text
    "amount-bigint": "ALTER TABLE match_groups ADD COLUMN bench_amount_key BIGINT;"
    f" DROP INDEX {AMOUNT_INDEX_NAME};"
    " CREATE INDEX bench_amount ON match_groups (run_id, status, bench_amount_key, seq)",
    # SQLite: a 256 MB page cache for the write transaction (default 2 MB: the write spills and re-reads)
    "cache": "PRAGMA cache_size = -262144",
    "cache64": "PRAGMA cache_size = -65536",
    "cache-default": "PRAGMA cache_size = -2000",
    "no-members": "DROP INDEX ix_run_items_run_id_group_id_side_row_no",
    "no-open": ";".join(
        f"DROP INDEX ix_run_items_{columns}_open"
        for columns in (
            "run_id_side_state_id",
            "run_id_side_state_amount_id",
            "run_id_side_state_date_id",
            "run_id_side_state_opened_at_id",
            "run_id_assignee_id_id",
        )
    ),
}
POSTGRES_ONLY = ("json", "analyze-all", "amount-order", "no-members", "no-open", "fresh")
AMOUNT_INDEX = ("status", "left_total", "seq")
SQLITE_ONLY = ("cache", "cache64", "cache-default")
RECORD_TEXTS = ["ext_id", "reference", "counterparty", "description"]
SECONDARY_INDEXES = (
    "SELECT indexname FROM pg_indexes WHERE tablename IN ('match_groups', 'run_items')"
    " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
)
SQLITE_INDEXES = (
    "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('match_groups', 'run_items')"
    " AND sql IS NOT NULL"
)


class Clock:
    """Wall and CPU seconds (user + sys) of the process doing the writes."""

    def __init__(self, session: Session) -> None:
        self.pid = None
        if session.get_bind().dialect.name == "postgresql":
            self.pid = session.scalar(text("SELECT pg_backend_pid()"))

    def cpu(self) -> float:
        if self.pid is None:
            return time.process_time()
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    def now(self) -> tuple[float, float]:
        return time.perf_counter(), self.cpu()


PG_WAL = os.environ.get("RECON_BENCH_PG_WAL", "/var/lib/postgresql/15/main/pg_wal")
PG_WALDUMP = os.environ.get("RECON_BENCH_PG_WALDUMP", "/usr/lib/postgresql/15/bin/pg_waldump")


def _wal_of(session: Session, xid: str, start: str, end: str) -> tuple[int, int, int] | None:
    """(records, bytes, full-page image bytes) transaction `xid` wrote between the two LSNs; None when the
    segments are gone already (recycled by a checkpoint while other databases wrote much)."""
    # a committed transaction on another connection flushes the WAL up to its commit, i.e. beyond `end`
    with session.get_bind().connect() as other:
        other.execute(text("SELECT pg_current_xact_id()"))
        other.commit()
    found = subprocess.run(
        [PG_WALDUMP, "-p", PG_WAL, "-s", start, "-e", end, "-x", xid, "--stats"],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in found.stdout.splitlines():
        if line.startswith("Total"):
            # Total  <count>  <record bytes> [pct]  <fpi bytes> [pct]  <combined> [100%]
            fields = line.split()
            return int(fields[1]), int(fields[6]), int(fields[4])
    print(f"pg_waldump: {found.stderr.strip() or found.stdout[-300:]}")
    return None


RESULT_TABLES = ("match_groups", "run_items", "matched_group_amounts")


def _fresh_tables(session: Session) -> list[str]:
    """`fresh`: a table like each results table (columns, defaults, checks), created in the transaction;
    returns the statements that build the real tables' indexes on them."""
    indexes = []
    for table in RESULT_TABLES:
        session.execute(
            text(f"CREATE TABLE fresh_{table} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        )
        for name, definition in session.execute(
            text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t"), {"t": table}
        ):
            built = definition.replace(f" ON public.{table} ", f" ON fresh_{table} ")
            indexes.append(built.replace(f"INDEX {name} ", f"INDEX fresh_{name} "))
    return indexes


def _copy_freeze(session: Session, table: str, rows: pa.Table, order: Any = None) -> None:
    """persist's COPY (the same CSV batches) with FREEZE (the table was created in this transaction)."""
    columns = ", ".join(f'"{c}"' for c in rows.column_names)
    sql = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, FREEZE)"
    with persist._driver(session).cursor() as cursor, cursor.copy(sql) as copy:
        for batch in persist._csv_batches(rows, order):
            copy.write(batch)


def _wal_text(wal: tuple[int, int, int] | None) -> str:
    if wal is None:
        return ""
    return f"  WAL {wal[0]:,} records, {wal[1] / 1e6:.1f} MB (full-page images {wal[2] / 1e6:.1f} MB)"


def _drop_secondary_indexes(session: Session) -> None:
    postgres = session.get_bind().dialect.name == "postgresql"
    names = session.scalars(text(SECONDARY_INDEXES if postgres else SQLITE_INDEXES)).all()
    for name in names:
        session.execute(text(f'DROP INDEX "{name}"'))


def _persist_once(
    factory: SessionFactory, run_id: str, variant: str, outcome: Outcome, carry: CarryMap, wal: bool = False
) -> list[tuple[str, float, float, tuple[int, int, int] | None]]:
    """Write the outcome in one transaction with the variant's setup; (step, wall s, CPU s); rolled back."""
    session = factory()
    try:
        run = session.get(Run, run_id)
        assert run is not None
        postgres = session.get_bind().dialect.name == "postgresql"
        if not postgres:
            # Python's sqlite3 opens a transaction only before a DML statement: the variants' DDL (DROP
            # INDEX ...) would be committed at once and left in the database for the variants after it.
            session.connection().exec_driver_sql("BEGIN")
        for statement in SETUP.get(variant, "").split(";"):
            if statement.strip():
                session.execute(text(statement))
        if variant == "bare":
            _drop_secondary_indexes(session)
        now = utcnow()
        ids = persist.allocate_group_ids(session, outcome.groups.num_rows)
        groups = persist.group_rows(run.id, outcome.groups, ids, now)
        if variant == "constant":
            index = groups.schema.get_field_index("explanation")
            groups = groups.set_column(index, "explanation", pa.repeat(pa.scalar("{}"), groups.num_rows))
        if variant == "amount-bigint":
            units = money_arrow._int64_units(groups.column("left_total").combine_chunks())
            assert units is not None, "amounts beyond the int64 range"
            groups = groups.append_column("bench_amount_key", pa.array(units, pa.int64()))
        if variant == "amount-order":
            groups = groups.take(pc.sort_indices(groups, [(c, "ascending") for c in AMOUNT_INDEX]))
        items = persist.item_rows(run.id, outcome.items, ids, now, {"left": {}, "right": {}}, carry=carry)
        if variant == "narrow":
            items = items.drop_columns(RECORD_TEXTS)
        analyze = (
            ["ANALYZE match_groups, run_items"]
            if variant == "analyze-all"
            else [
                f"ANALYZE match_groups ({persist.ANALYZE_GROUPS})",
                f"ANALYZE run_items ({persist.ANALYZE_ITEMS}), matched_group_amounts",
            ]
        )
        if variant == "fresh":
            return _persist_fresh(session, groups, items, persist.insert_order(outcome.items), wal)
        if _partitioned(session):
            return _persist_partitions(session, run.id, groups, items, persist.insert_order(outcome.items))
        clock = Clock(session)
        figures = []
        lsn = "SELECT CAST(pg_current_wal_insert_lsn() AS text)"
        xid = session.scalar(text("SELECT CAST(pg_current_xact_id() AS text)")) if wal and postgres else None
        marks = [session.scalar(text(lsn))] if xid else []
        wall, cpu = clock.now()
        steps: list[tuple[str, Callable[[], object]]] = [
            ("groups", lambda: persist.insert_rows(session, "match_groups", groups)),
            (
                "items",
                lambda: persist.insert_rows(session, "run_items", items, persist.insert_order(outcome.items)),
            ),
        ]
        if variant not in WITHOUT_AMOUNTS:
            amounts = persist.matched_amount_rows(groups)
            steps.append(("amounts", lambda: persist.insert_rows(session, "matched_group_amounts", amounts)))
        if postgres:
            steps.append(("analyze", lambda: [session.execute(text(sql)) for sql in analyze]))
        # the page cache of the task's write (SQLite), unless the variant sets its own
        cache = nullcontext() if variant.startswith("cache") else persist._write_cache(session)
        with cache:
            for name, step in steps:
                step()
                wall_after, cpu_after = clock.now()
                figures.append((name, wall_after - wall, cpu_after - cpu))
                if xid:
                    marks.append(session.scalar(text(lsn)))
                wall, cpu = clock.now()
        if xid:
            return [
                (*figure, _wal_of(session, str(xid), marks[i], marks[i + 1]))
                for i, figure in enumerate(figures)
            ]
        return [(*figure, None) for figure in figures]
    finally:
        session.rollback()
        if variant.startswith("cache"):
            session.execute(text("PRAGMA cache_size = -2000"))  # SQLite's default again
        session.close()


def _persist_fresh(
    session: Session, groups: pa.Table, items: pa.Table, order: Any, wal: bool
) -> list[tuple[str, float, float, tuple[int, int, int] | None]]:
    """The `fresh` variant's steps: COPY FREEZE into new tables, their indexes built at once, ANALYZE."""
    indexes = _fresh_tables(session)
    amounts = persist.matched_amount_rows(groups)
    analyze = [
        f"ANALYZE fresh_match_groups ({persist.ANALYZE_GROUPS})",
        f"ANALYZE fresh_run_items ({persist.ANALYZE_ITEMS}), fresh_matched_group_amounts",
    ]
    steps: list[tuple[str, Callable[[], object]]] = [
        ("groups", lambda: _copy_freeze(session, "fresh_match_groups", groups)),
        ("items", lambda: _copy_freeze(session, "fresh_run_items", items, order)),
        ("amounts", lambda: _copy_freeze(session, "fresh_matched_group_amounts", amounts)),
        ("indexes", lambda: [session.execute(text(sql)) for sql in indexes]),
        ("analyze", lambda: [session.execute(text(sql)) for sql in analyze]),
    ]
    clock = Clock(session)
    lsn = "SELECT CAST(pg_current_wal_insert_lsn() AS text)"
    xid = session.scalar(text("SELECT CAST(pg_current_xact_id() AS text)")) if wal else None
    marks = [session.scalar(text(lsn))]
    figures = []
    wall, cpu = clock.now()
    for name, step in steps:
        step()
        wall_after, cpu_after = clock.now()
        figures.append((name, wall_after - wall, cpu_after - cpu))
        marks.append(session.scalar(text(lsn)))
        wall, cpu = clock.now()
    return [
        (*figure, _wal_of(session, str(xid), marks[i], marks[i + 1]) if xid else None)
        for i, figure in enumerate(figures)
    ]


def _partitioned(session: Session) -> bool:
    kind = session.execute(text("SELECT relkind FROM pg_class WHERE oid = to_regclass('run_items')"))
    return kind.scalar() == "p"


def _persist_partitions(
    session: Session, run_id: str, groups: pa.Table, items: pa.Table, order: Any
) -> list[tuple[str, float, float, tuple[int, int, int] | None]]:
    """`stored` on partitioned results: the persist's steps on one connection (the task's two)."""
    amounts = persist.matched_amount_rows(groups)
    tables = {"groups": "match_groups", "items": "run_items", "amounts": "matched_group_amounts"}
    analyze = {"match_groups": persist.ANALYZE_GROUPS, "run_items": persist.ANALYZE_ITEMS}

    def fill(step: str, rows: pa.Table, rows_order: Any = None) -> None:
        name = partitions.create_partition(session, tables[step], run_id)
        persist.insert_rows(session, name, rows, rows_order, freeze=True)

    def build() -> None:
        session.execute(text("SET LOCAL max_parallel_maintenance_workers = 0"))  # as the persist
        for table in tables.values():
            name = partitions.partition_name(table, run_id)
            for sql in partitions.index_statements(session, table, name):
                session.execute(text(sql))

    def statistics() -> None:
        for table in tables.values():
            columns = f" ({analyze[table]})" if table in analyze else ""
            session.execute(text(f"ANALYZE {partitions.partition_name(table, run_id)}{columns}"))

    steps: list[tuple[str, Callable[[], object]]] = [
        ("groups", lambda: fill("groups", groups)),
        ("items", lambda: fill("items", items, order)),
        ("amounts", lambda: fill("amounts", amounts)),
        ("indexes", build),
        ("analyze", statistics),
        ("attach", lambda: [partitions.attach_partition(session, t, run_id) for t in tables.values()]),
    ]
    clock = Clock(session)
    figures = []
    wall, cpu = clock.now()
    for name, step in steps:
        step()
        wall_after, cpu_after = clock.now()
        figures.append((name, wall_after - wall, cpu_after - cpu, None))
        wall, cpu = clock.now()
    return figures


def _indexes(session: Session) -> set[str]:
    postgres = session.get_bind().dialect.name == "postgresql"
    return set(session.scalars(text(SECONDARY_INDEXES if postgres else SQLITE_INDEXES)))


def _vacuum(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("VACUUM match_groups, run_items"))
        else:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--variants", default="stored,analyze-all,json,constant,amount-partial")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--wal", action="store_true", help="the WAL of each step (pg_waldump; PostgreSQL)")
    args = parser.parse_args()
    engine = create_db_engine(Settings(_env_file=None, database_url=args.database_url, environment="test"))
    variants = args.variants.split(",")
    if engine.dialect.name != "postgresql" and set(variants) & set(POSTGRES_ONLY):
        raise SystemExit(f"PostgreSQL only: {', '.join(POSTGRES_ONLY)}")
    if engine.dialect.name == "postgresql" and set(variants) & set(SQLITE_ONLY):
        raise SystemExit(f"SQLite only: {', '.join(SQLITE_ONLY)}")
    factory = create_session_factory(engine)
    started = time.perf_counter()
    inputs = load_inputs(factory, args.run_id)
    with tempfile.TemporaryDirectory() as spill:
        outcome = build_outcome(run_engine(inputs, lambda _event: None, spill), inputs.sides)
    print(
        f"inputs and engine {time.perf_counter() - started:.1f} s: {outcome.groups.num_rows} groups, "
        f"{outcome.items.num_rows} items, load average {os.getloadavg()[0]:.1f}"
    )
    with factory() as session:
        persist.delete_results(session, args.run_id)
        session.commit()
        schema = _indexes(session)
        partitioned = engine.dialect.name == "postgresql" and _partitioned(session)
    if partitioned:
        if set(variants) - {"stored"}:
            raise SystemExit("results partitioned by run: only the variant `stored` (the persist's steps)")
        partitions.drop_run_partitions(engine, args.run_id)
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    cpus: dict[tuple[str, str], list[float]] = defaultdict(list)
    wals: dict[tuple[str, str], tuple[int, int, int]] = {}
    for _ in range(args.repeat):
        for variant in variants:
            _vacuum(engine)
            written = _persist_once(factory, args.run_id, variant, outcome, inputs.carry, args.wal)
            for name, seconds, cpu, wal in written:
                times[(variant, name)].append(seconds)
                cpus[(variant, name)].append(cpu)
                if wal is not None:
                    wals[(variant, name)] = wal
            with factory() as session:  # a variant's set-up must not outlive its rolled-back transaction
                if _indexes(session) != schema:
                    raise SystemExit(f"variant {variant} left the results' indexes changed")
    print(
        f"{'variant':14s} {'step':8s} {'median':>7s} {'min':>7s} {'max':>7s} {'cpu':>7s} {'cpu min':>7s}"
        f"  (s, {args.repeat} repetitions; load average {os.getloadavg()[0]:.1f})"
    )
    for (variant, name), values in times.items():
        cpu = cpus[(variant, name)]
        print(
            f"{variant:14s} {name:8s} {statistics.median(values):7.2f} {min(values):7.2f} {max(values):7.2f}"
            f" {statistics.median(cpu):7.2f} {min(cpu):7.2f}" + _wal_text(wals.get((variant, name)))
        )


if __name__ == "__main__":
    main()
