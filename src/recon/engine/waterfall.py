"""reconcile(): run the waterfall of passes over two Arrow tables."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from recon import __version__
from recon.engine.backend import Backend, open_backend
from recon.engine.errors import InputError
from recon.engine.executor import Session, Side, order_by_id
from recon.engine.groups import run_grouped
from recon.engine.passes import (
    AMBIGUOUS,
    MATCHED,
    SUGGESTED,
    Detail,
    PassResult,
    Reasons,
    run_one_to_one,
)
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
        # the tables as given: a side not in id order was copied in id order, and the caller may have
        # handed its own reference over (recon match: the ledger's file-order table, 154 MB at 1M dense)
        del left, right
        for side in sides.values():
            session.add_side(side)
        categories = (sides["left"].categories(), sides["right"].categories())
        # the planner runs while DuckDB looks for duplicates (it only names derived columns: each is made when
        # a pass first reads its side, for that pass's open records; Session.materialize_named)
        planning = session.background(lambda: rules.plan(*categories, session.derive))
        available = {name: np.ones(side.n, bool) for name, side in sides.items()}
        with stage("duplicates"):
            duplicates = _duplicates(session, rules, sides, available)
        with stage("plan"):
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
            held: Held | None = None
            if spec.kind != "one_to_one":
                held = held_records(results, available, spec.many_sides)
            offered = (
                np.flatnonzero(available["left"] | held.mask["left"] if held else available["left"]),
                np.flatnonzero(available["right"] | held.mask["right"] if held else available["right"]),
            )
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
                    if held:
                        with stage(f"pass {spec.index + 1} {spec.name}: take back held records"):
                            result, dropped = take_back(
                                result, held, results, available, sides=sides, reasons=reasons
                            )
                        if dropped:
                            # the groups dropped may have kept the pass from groups without held records
                            with stage(f"pass {spec.index + 1} {spec.name}: again over the records left"):
                                rest = (
                                    np.setdiff1d(np.flatnonzero(available["left"]), result.used(0)),
                                    np.setdiff1d(np.flatnonzero(available["right"]), result.used(1)),
                                )
                                session.begin_pass(rest)
                                again = unsure(run_grouped(session, pass_plan, rest, reasons))
                                result = merged(result, again)
            available["left"][result.used(0)] = False
            available["right"][result.used(1)] = False
            results.append(result)
            result.pack(session)
            # normalized columns no later pass reads (explanations keep the vocabularies they need)
            with stage(f"pass {spec.index + 1} {spec.name}: drop derived columns"):
                session.drop_derived(set().union(*needs[position + 1 :]))
                session.drop_pass_tables()
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
            outcome = Outcome(rules, sides, rejected, results, reasons, duplicates)
            return build(outcome, ENGINE_VERSION, session.backend)
    finally:
        session.close()


SIDES = ("left", "right")
TAKE_BACK_STATUSES = (MATCHED,)  # statuses of a grouped pass's groups that may take a held record back


@dataclass
class Held:
    """Records an earlier pass holds in `suggested` pairs whose rival (on the record's side) is still open:
    a grouped pass may take them back (take_back). Per side: a mask of the held records, and per held
    record (by rid) the earlier pass's position in the waterfall, the pair's group and the rival's rid and
    score."""

    mask: dict[str, np.ndarray]
    pairs: dict[str, dict[int, tuple[int, int, int, float]]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any(self.pairs.get(side) for side in SIDES)


def held_records(results: list[PassResult], available: dict[str, np.ndarray], many: tuple[str, ...]) -> Held:
    """The take-back's candidates for a grouped pass whose many side(s) are `many`: every record of such a
    side held by an earlier one_to_one pass in a `suggested` pair whose best rival is a record of the same
    side still open now (the rival could take its place in the pair). `matched` pairs are never offered."""
    held = Held({side: np.zeros(len(available[side]), bool) for side in SIDES})
    for side in SIDES:
        held.pairs[side] = {}
    for position, result in enumerate(results):
        rivals = result.rivals
        if rivals is None or result.spec.kind != "one_to_one":
            continue
        for code, side in enumerate(SIDES):
            if side not in many:
                continue
            groups = np.flatnonzero((result.status == SUGGESTED) & (rivals.side == code))
            if len(groups) == 0:
                continue
            rival = rivals.node[groups]
            groups, rival = groups[available[side][rival]], rival[available[side][rival]]
            members = result.rid[result.side == code]  # one per pair, in group order
            member = members[groups]
            held.mask[side][member] = True
            for m, g, r, s in zip(
                member.tolist(), groups.tolist(), rival.tolist(), rivals.score[groups].tolist(), strict=True
            ):
                held.pairs[side][m] = (position, g, r, s)
    return held


def take_back(
    result: PassResult,
    held: Held,
    earlier: list[PassResult],
    available: dict[str, np.ndarray],
    *,
    sides: dict[str, Side],
    reasons: Reasons,
) -> tuple[PassResult, bool]:
    """Settle the grouped pass's use of held records (held_records). In group order, a group using held
    records keeps them when it is `matched` (a decided group) and each of their rivals is still open: not in
    this pass's groups and not already the replacement of an earlier take-back. The rival then takes the
    record's place in the earlier pair (which stays `suggested`, its score the rival's, its explanation
    noting the re-pairing) and is no longer available. Any other group using a held record is dropped: the
    held record stays in its pair, the group's other records stay open for later passes (unmatched as
    `ambiguous` if none takes them: the group they made needed a record another pair holds). Every record
    still lands once. Returns the pass's result and whether groups were dropped (the caller then runs the
    pass again over the records left open: with the held records it may have formed a dropped group instead
    of one without them)."""
    in_group = {code: np.zeros(len(available[side]), bool) for code, side in enumerate(SIDES)}
    for code in (0, 1):
        in_group[code][result.rid[result.side == code]] = True
    uses = np.zeros(len(result.rid), bool)
    for code, side in enumerate(SIDES):
        mine = np.flatnonzero(result.side == code)
        uses[mine] = held.mask[side][result.rid[mine]]
    if not uses.any():
        return result, False
    keep = np.ones(result.groups, bool)
    why_dropped: dict[int, Detail] = {}  # dropped group -> what its records are told
    taken: set[tuple[int, int]] = set()  # (side, rival rid) already placed in a pair
    swaps: list[tuple[int, int, int, int, int, float]] = []  # (code, member, position, group, rival, score)
    rows = np.flatnonzero(uses)  # members come in group order
    starts = np.flatnonzero(np.r_[True, np.diff(result.group[rows]) != 0])
    for mine in np.split(rows, starts[1:]):
        group = int(result.group[mine[0]])
        planned = []
        claimed: set[tuple[int, int]] = set()
        decided = int(result.status[group]) in TAKE_BACK_STATUSES
        rival_free = True
        for row in mine.tolist():
            code, member = int(result.side[row]), int(result.rid[row])
            position, pair, rival, score = held.pairs[SIDES[code]][member]
            key = (code, rival)
            if in_group[code][rival] or key in taken or key in claimed or not available[SIDES[code]][rival]:
                rival_free = False
            claimed.add(key)
            planned.append((code, member, position, pair, rival, score))
        if decided and rival_free:
            swaps.extend(planned)
            taken |= claimed
        else:
            keep[group] = False
            code, member, position = planned[0][:3]
            why = (
                "its pair's rival was not free to take its place"
                if decided
                else "the group was not sure (competing groups make the same sum)"
            )
            why_dropped[group] = Detail(
                f"its group in pass '{result.spec.name}' needed {{rival}}, which pass "
                f"'{earlier[position].spec.name}' holds in a suggested pair; the group was dropped: {why}",
                SIDES[code],
                member,
            )
    for code, member, position, pair, rival, score in swaps:
        pairs = earlier[position]
        row = int(np.flatnonzero((pairs.group == pair) & (pairs.side == code))[0])
        pairs.rid[row] = rival
        first_score = float(pairs.score[pair])
        pairs.score[pair] = score
        available[SIDES[code]][rival] = False
        first_id = sides[SIDES[code]].ids[member].as_py()
        pairs.notes[pair] = (
            f'"re_paired":{{"side":"{SIDES[code]}","first_id":{json.dumps(first_id, ensure_ascii=False)},'
            f'"first_score":{round(first_score, 4)!r},"taken_by":{json.dumps(result.spec.name)},'
            '"why":"the first record was taken by a matched group of a later pass; this pair\'s rival, '
            'still open, took its place; match and score above compare the first record"}'
        )
    if keep.all():
        return result, False
    member_keep = keep[result.group]
    for code, side in enumerate(SIDES):
        rows = np.flatnonzero(~member_keep & (result.side == code))
        rows = rows[~held.mask[side][result.rid[rows]]]
        details = [why_dropped[int(group)] for group in result.group[rows].tolist()]
        reasons.note(side, result.rid[rows], AMBIGUOUS, result.spec.index, details=details)
    renumber = np.cumsum(keep) - 1
    kept = PassResult(
        result.spec,
        renumber[result.group[member_keep]],
        result.side[member_keep],
        result.rid[member_keep],
        result.status[keep],
        result.score[keep],
        result.explanations().filter(pa.array(keep)),
    )
    return kept, True


def unsure(again: PassResult) -> PassResult:
    """The groups of a pass's second run (take_back dropped groups) are `suggested`: the run did not see the
    held records, so a group's key may have had another way to make the sum."""
    for group in np.flatnonzero(again.status == MATCHED).tolist():
        again.notes[group] = (
            '"again":"found when the pass ran again without the records earlier pairs hold, after a group '
            'needing one was dropped: suggested"'
        )
    again.status[again.status == MATCHED] = SUGGESTED
    return again


def merged(first: PassResult, second: PassResult) -> PassResult:
    """The groups of two runs of one grouped pass (over disjoint records) as one result, ordered as a
    pass's groups are (by smallest left id; members by side, then id)."""
    if second.groups == 0:
        return first
    n = first.groups + second.groups
    group = np.concatenate([first.group, second.group + first.groups])
    side = np.concatenate([first.side, second.side])
    rid = np.concatenate([first.rid, second.rid])
    first_left = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_left, group[side == 0], rid[side == 0])
    order = np.argsort(first_left, kind="stable")
    renumber = np.empty(n, np.int64)
    renumber[order] = np.arange(n)
    group = renumber[group]
    members = np.lexsort((rid, side, group))
    texts = pa.concat_arrays([first.explanations(), second.explanations()]).take(pa.array(order))
    return PassResult(
        first.spec,
        group[members],
        side[members],
        rid[members],
        np.concatenate([first.status, second.status])[order],
        np.concatenate([first.score, second.score])[order],
        texts,
    )


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
