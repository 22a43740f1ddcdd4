"""reconcile(): run the waterfall of passes over two Arrow tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from recon import __version__
from recon.engine.backend import Backend, open_backend
from recon.engine.errors import InputError
from recon.engine.executor import Session, Side, order_by_id
from recon.engine.groups import run_grouped
from recon.engine.passes import PassResult, Reasons, run_one_to_one
from recon.engine.results import Outcome, Reconciliation, build
from recon.engine.rules import RuleSet
from recon.engine.sql import DATE, NUMBER, TIMESTAMP
from recon.engine.timing import stage

ENGINE_VERSION = __version__


@dataclass(frozen=True)
class ProgressEvent:
    pass_index: int
    pass_name: str
    passes: int
    stage: str  # "start" | "done"
    groups: int
    left: int
    right: int


def reconcile(
    left: pa.Table,
    right: pa.Table,
    rules: RuleSet,
    *,
    left_rejected: pa.Table | None = None,
    right_rejected: pa.Table | None = None,
    memory_limit: str | None = None,
    temp_dir: str | None = None,
    threads: int | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
    backend: str | Backend = "duckdb",
) -> Reconciliation:
    """Match `left` against `right` with the rule set; every record lands exactly once in the result.

    Raises RulesError when the rules name missing columns, InputError for unusable input (missing or
    duplicate ids, a tolerance on a non-numeric column, ...), EngineError when an invariant check fails.
    `backend`: where the plan runs: "duckdb" (in process, the default), "spark" (recon.engine.spark's
    default session) or a recon.engine.backend.Backend.
    """
    rules.check_columns(left.column_names, right.column_names)
    _check_types(rules, {"left": left, "right": right})
    session = Session(memory_limit, temp_dir, threads, open_backend(backend, memory_limit, temp_dir, threads))
    try:
        with stage("order by id"):
            sides = {
                "left": order_by_id("left", left, rules.left.id),
                "right": order_by_id("right", right, rules.right.id),
            }
        for side in sides.values():
            session.add_side(side)
        categories = (sides["left"].categories(), sides["right"].categories())
        # the plan computes normalized key columns (Arrow) while DuckDB looks for duplicates
        planning = session.background(lambda: rules.plan(*categories, session.derive))
        available = {name: np.ones(side.n, bool) for name, side in sides.items()}
        with stage("duplicates"):
            duplicates = _duplicates(session, rules, sides, available)
        with stage("plan (waiting for normalized columns)"):
            plan = planning.result()
        session.backend.check(plan)
        for name in sides:
            session.publish(name)
        reasons = Reasons({name: side.n for name, side in sides.items()})
        results: list[PassResult] = []
        needs = [session.needs(pass_plan) for pass_plan in plan.passes]
        for position, pass_plan in enumerate(plan.passes):
            spec = pass_plan.spec
            if progress:
                progress(ProgressEvent(spec.index, spec.name, len(plan.passes), "start", 0, 0, 0))
            offered = (np.flatnonzero(available["left"]), np.flatnonzero(available["right"]))
            if spec.kind != "one_to_one":
                # A grouped pass's tables and candidates beside the explanations still being made of the
                # passes before (the near pass's) were the peak of the classic demo at 1M (1,142 MB).
                with stage(f"pass {spec.index + 1} {spec.name}: waiting for earlier explanations"):
                    for earlier in results:
                        earlier.ready()
                release_free_memory()
            session.begin_pass(offered)
            with stage(f"pass {spec.index + 1} {spec.name} (total)"):
                if spec.kind == "one_to_one":
                    result = run_one_to_one(session, pass_plan, offered, reasons)
                else:
                    result = run_grouped(session, pass_plan, offered, reasons)
            available["left"][result.used(0)] = False
            available["right"][result.used(1)] = False
            results.append(result)
            result.pack(session)
            # normalized columns no later pass reads (explanations keep the vocabularies they need)
            with stage(f"pass {spec.index + 1} {spec.name}: drop derived columns"):
                session.drop_derived(set().union(*needs[position + 1 :]))
            release_free_memory()  # the pass's candidate arrays and query results are gone
            if progress:
                used_left, used_right = len(result.used(0)), len(result.used(1))
                progress(
                    ProgressEvent(
                        spec.index, spec.name, len(plan.passes), "done", result.groups, used_left, used_right
                    )
                )
        with stage("explanations (waiting for the background)"):
            for result in results:
                result.ready()  # the pool is shut down with the session: nothing may still be queued
        rejected = {"left": left_rejected, "right": right_rejected}
        with stage("results"):
            return build(Outcome(rules, sides, rejected, results, reasons, duplicates), ENGINE_VERSION)
    finally:
        session.close()


def release_free_memory() -> None:
    """Hand the Arrow pool's freed pages back to the system: it keeps them for reuse, and the next pass's
    needs differ in size, so the process's peak grew with what was kept. (glibc's malloc_trim as well
    saved ~30 MB more at 1M classic for ~2.8 s more system CPU: not done.)"""
    pa.default_memory_pool().release_unused()


def _duplicates(
    session: Session, rules: RuleSet, sides: dict[str, Side], available: dict[str, np.ndarray]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    found = {}
    for name, side in sides.items():
        if rules.duplicates == "flag":
            rids, first = session.duplicates(side)
        else:
            rids, first = np.zeros(0, np.int64), np.zeros(0, np.int64)
        available[name][rids] = False
        found[name] = (rids, first)
    return found


def _check_types(rules: RuleSet, tables: dict[str, pa.Table]) -> None:
    """Numbers where ops need numbers, dates where they need dates (strings must be typed by ingest)."""
    from recon.engine.executor import category

    problems = []
    for side, table in tables.items():
        for column, kind, location in rules.implied_types(side):
            actual = category(table.schema.field(column).type)
            wanted = (NUMBER,) if kind == "decimal" else (DATE, TIMESTAMP)
            if actual not in wanted:
                problems.append(
                    f"{location}: {side} column '{column}' holds {table.schema.field(column).type}, "
                    f"but it is used as {kind} (type it, e.g. columns: {{{column}: {kind}}})"
                )
    if problems:
        raise InputError("\n".join(dict.fromkeys(problems)))
