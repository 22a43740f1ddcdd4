"""PostgreSQL plans the results lists on statistics: a run's results come with them (the ANALYZE commits with
the rows, so the first list request after `succeeded` already has them). They are the statistics of the run's
partitions, which the lists' plans read (each query names its run; docs/adr/0038 Update)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from recon.runs.partitions import partition_name


@pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
def test_a_succeeded_run_has_planner_statistics(run: dict[str, Any], db_engine: Engine) -> None:
    with db_engine.connect() as conn:
        for table in ("run_items", "match_groups"):
            columns = conn.execute(
                text("SELECT attname FROM pg_stats WHERE tablename = :t"),
                {"t": partition_name(table, run["id"])},
            ).scalars()
            assert {"run_id", "status" if table == "match_groups" else "group_id"} <= set(columns), table
