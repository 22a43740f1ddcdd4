"""Where a run's persist goes on PostgreSQL: the results of one kept run written again per storage variant,
each in a transaction that is rolled back (the database is left as it was, but for a VACUUM).

    uv run python bench/api_run_bench.py --rows 100000 --no-lists --keep-db   # keeps recon_run_bench_<hex>
    uv run python bench/persist_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1/<db> \
        --run-id <id> --variants stored,json,constant,planner-analyze,amount-index --repeat 3

The run's inputs are loaded and reconciled again in this process (the same outcome the task persisted), its
stored results are deleted once (committed), then each variant, in turn per repetition after a VACUUM, times
the groups' COPY, the items' COPY and the ANALYZE (medians, min and max in seconds; ADR 0016 "Storage"):
- stored: as the task writes them (JSONB explanations, the ANALYZE of the planner's columns);
- analyze-all: ANALYZE of every column (as before ADR 0016's second session);
- json: explanations as `json` (ALTER TABLE inside the transaction);
- constant: every explanation `{}` (the floor of any design that keeps explanations elsewhere);
- amount-index: a full (run_id, status, left_total, seq) index instead of the partial one (matched by amount).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections import defaultdict

import pyarrow as pa
from sqlalchemy import text

from recon.config import Settings
from recon.core.db import SessionFactory, create_db_engine, create_session_factory
from recon.core.time import utcnow
from recon.models.runs import Run
from recon.runs import persist
from recon.runs.execute import load_inputs, run_engine
from recon.runs.outcome import Outcome, build_outcome
from recon.runs.persist import CarryMap

SETUP = {
    "json": "ALTER TABLE match_groups ALTER COLUMN explanation TYPE json USING explanation::json",
    "amount-index": "DROP INDEX ix_match_groups_run_id_status_left_total_seq_open;"
    " CREATE INDEX bench_amount ON match_groups (run_id, status, left_total, seq)",
}


def _persist_once(
    factory: SessionFactory, run_id: str, variant: str, outcome: Outcome, carry: CarryMap
) -> list[tuple[str, float]]:
    """Write the outcome in one transaction with the variant's setup; (step, seconds); rolled back."""
    session = factory()
    try:
        run = session.get(Run, run_id)
        assert run is not None
        for statement in SETUP.get(variant, "").split(";"):
            if statement.strip():
                session.execute(text(statement))
        now = utcnow()
        ids = persist.allocate_group_ids(session, outcome.groups.num_rows)
        groups = persist.group_rows(run.id, outcome, ids, now)
        if variant == "constant":
            index = groups.schema.get_field_index("explanation")
            groups = groups.set_column(index, "explanation", pa.repeat(pa.scalar("{}"), groups.num_rows))
        items = persist.item_rows(run.id, outcome, ids, now, {"left": {}, "right": {}}, carry=carry)
        analyze = "ANALYZE match_groups, run_items" if variant == "analyze-all" else persist.ANALYZE_RESULTS
        figures = []
        begun = time.perf_counter()
        persist.insert_rows(session, "match_groups", groups)
        figures.append(("groups", time.perf_counter() - begun))
        begun = time.perf_counter()
        persist.insert_rows(session, "run_items", items, persist.insert_order(outcome.items))
        figures.append(("items", time.perf_counter() - begun))
        begun = time.perf_counter()
        session.execute(text(analyze))
        figures.append(("analyze", time.perf_counter() - begun))
        return figures
    finally:
        session.rollback()
        session.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--variants", default="stored,analyze-all,json,constant,amount-index")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    engine = create_db_engine(Settings(_env_file=None, database_url=args.database_url, environment="test"))
    if engine.dialect.name != "postgresql":
        raise SystemExit("PostgreSQL only (the variants are PostgreSQL storage choices)")
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
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    for _ in range(args.repeat):
        for variant in args.variants.split(","):
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM match_groups, run_items"))
            for name, seconds in _persist_once(factory, args.run_id, variant, outcome, inputs.carry):
                times[(variant, name)].append(seconds)
    print(
        f"{'variant':14s} {'step':8s} {'median':>7s} {'min':>7s} {'max':>7s}  (s, {args.repeat} repetitions)"
    )
    for (variant, name), values in times.items():
        print(
            f"{variant:14s} {name:8s} {statistics.median(values):7.2f} {min(values):7.2f} {max(values):7.2f}"
        )


if __name__ == "__main__":
    main()
