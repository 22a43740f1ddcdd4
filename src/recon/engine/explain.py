"""Explanations (compact JSON, fixed key order) built in DuckDB, plus comparisons for grouped matches.

Pair explanation:  {"match": [{"field", "left", "right", ["diff" | "days" | "sim"], "ok"}, ...],
                    "score": [{"field", "method", "left", "right", "sim", "weight"}, ...],
                    "compare": [{"field", "left", "right", ["diff" | "days"], "ok"}, ...],
                    ["assignment": "greedy"]}
Group explanation: {"members": {"left", "right"}, "sum": {"left", "right", "diff", "ok"},
                    "match": [{"field", "left", "right"}], "score": [{"field", "method", "sim"}],
                    "compare": [{"field", "left", "right", ["diff" | "days"], "ok"}]}
Values are text as in the input; a group shows one value when its members agree, else "min..max".
Money differences are decimal strings (left - right), date differences are days (right - left).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from recon.engine import sql
from recon.engine.errors import EngineError
from recon.engine.executor import Session
from recon.engine.model import CompareItem, Condition
from recon.engine.planner import PassPlan

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def field_name(left: str, right: str) -> str:
    return left if left == right else f"{left}/{right}"


def _obj(*pairs: tuple[str, str]) -> str:
    return "json_object(" + ", ".join(f"'{key}', {value}" for key, value in pairs) + ")"


def _array(objects: list[str]) -> str:
    return f"json_array({', '.join(objects)})" if objects else "json_array()"


def _raw(alias: str, column: str) -> str:
    return f"CAST({alias}.{sql.quote(column)} AS VARCHAR)"


def _field(item: Condition | CompareItem) -> tuple[str, str]:
    return "field", sql.string_literal(field_name(item.left, item.right))


def pair_explanations(
    session: Session,
    plan: PassPlan,
    tables: tuple[str, str],
    pairs: tuple[IntArray, IntArray],
    sims: dict[str, FloatArray],
    *,
    greedy: npt.NDArray[np.bool_],
) -> pa.Array:
    """One JSON explanation per chosen pair, in the order given."""
    left_rids, right_rids = pairs
    chosen: dict[str, npt.NDArray[Any]] = {
        "__g": np.arange(len(left_rids)),
        "__lr": left_rids,
        "__rr": right_rids,
        "__greedy": greedy,
    }
    chosen.update({f"__{name}": values for name, values in sims.items()})
    session.register("__chosen", pa.table(chosen))
    checks = {check.index: check for check in plan.checks}
    match = []
    for i, cond in enumerate(plan.spec.match):
        la, ra = f"l.__m{i}", f"r.__m{i}"
        item = [_field(cond), ("left", _raw("l", cond.left)), ("right", _raw("r", cond.right))]
        if cond.op == "tolerance":
            item.append(("diff", f"CAST({la} - {ra} AS VARCHAR)"))
        elif cond.op == "within_days":
            item.append(("days", f"{ra} - {la}"))
        elif cond.op == "similarity":
            check = checks[i]
            expr = (
                f"c.__check{i}"
                if check.sql is None
                else (sql.similarity(cond.method or "exact", la, ra) or "0")
            )
            item.append(("sim", f"round({expr}, 4)"))
        match.append(_obj(*item, ("ok", "true")))
    score = []
    for part, spec_item in zip(plan.scores, plan.spec.score, strict=True):
        expr = part.sql if part.sql is not None else f"c.__score{part.index}"
        score.append(
            _obj(
                ("field", sql.string_literal(field_name(spec_item.left, spec_item.right))),
                ("method", sql.string_literal(part.method)),
                ("left", _raw("l", spec_item.left)),
                ("right", _raw("r", spec_item.right)),
                ("sim", f"round({expr}, 4)"),
                ("weight", repr(part.weight)),
            )
        )
    compare = [
        _pair_compare(item, check.sql or "true", i)
        for i, (item, check) in enumerate(zip(plan.spec.compare, plan.compares, strict=True))
    ]
    parts = [("match", _array(match))]
    if score:
        parts.append(("score", _array(score)))
    if compare:
        parts.append(("compare", _array(compare)))
    body = _obj(*parts)
    greedy_body = _obj(*parts, ("assignment", "'greedy'"))
    left, right = tables
    query = f"""SELECT CAST(CASE WHEN c.__greedy THEN {greedy_body} ELSE {body} END AS VARCHAR) AS e
        FROM __chosen c JOIN {left} l ON l.__rid = c.__lr JOIN {right} r ON r.__rid = c.__rr ORDER BY c.__g"""
    result = session.arrow(query).column("e").combine_chunks()
    session.con.unregister("__chosen")
    return result


def _pair_compare(item: CompareItem, ok: str, index: int) -> str:
    la, ra = f"l.__c{index}", f"r.__c{index}"
    fields = [_field(item), ("left", _raw("l", item.left)), ("right", _raw("r", item.right))]
    if item.abs is not None or item.pct is not None:
        fields.append(("diff", f"CAST({la} - {ra} AS VARCHAR)"))
    elif item.days is not None:
        fields.append(("days", f"{ra} - {la}"))
    return _obj(*fields, ("ok", ok))


def _span(low: str, high: str) -> str:
    return (
        f"CASE WHEN {low} IS NOT DISTINCT FROM {high} THEN CAST({low} AS VARCHAR) "
        f"ELSE CAST({low} AS VARCHAR) || '..' || CAST({high} AS VARCHAR) END"
    )


def group_outcomes(
    session: Session,
    plan: PassPlan,
    tables: tuple[str, str],
    members: tuple[IntArray, IntArray, IntArray],
    sims: dict[str, FloatArray],
) -> tuple[npt.NDArray[np.bool_], pa.Array]:
    """(compare ok, explanation) per group 0..n-1; members = (group, side 0/1, rid)."""
    group, side, rid = members
    n_groups = int(group.max()) + 1 if len(group) else 0
    session.register("__fm", pa.table({"g": group, "side": side.astype(np.int8), "rid": rid}))
    session.register("__gs", pa.table({"g": np.arange(n_groups), **{f"__{k}": v for k, v in sims.items()}}))
    spec = plan.spec
    aggregates = ["count(*) AS n"]
    if spec.sum is not None:
        aggregates.append("sum(x.__sv) AS s")
    for i in range(len(spec.match)):
        aggregates.append(f"min(x.{{c{i}}}) AS mn{i}, max(x.{{c{i}}}) AS mx{i}")
    for i, item in enumerate(spec.compare):
        if item.abs is not None or item.pct is not None:
            aggregates.append(f"sum(x.__c{i}) AS cs{i}")
        else:
            aggregates.append(f"min(x.__c{i}) AS cmn{i}, max(x.__c{i}) AS cmx{i}, count(x.__c{i}) AS cc{i}")

    def side_query(side_code: int, table: str, which: str) -> str:
        columns = {
            f"c{i}": sql.quote(cond.left if which == "left" else cond.right)
            for i, cond in enumerate(spec.match)
        }
        select = ", ".join(aggregates).format(**columns)
        return (
            f"SELECT f.g, {select} FROM __fm f JOIN {table} x ON x.__rid = f.rid "
            f"WHERE f.side = {side_code} GROUP BY f.g"
        )

    oks: list[str] = []
    compare = []
    for i, item in enumerate(spec.compare):
        fields = [_field(item)]
        if item.abs is not None or item.pct is not None:
            a, b = f"a.cs{i}", f"b.cs{i}"
            ok = sql.within_amount(f"{a} - {b}", a, b, item.abs, item.pct)
            fields += [("left", f"CAST({a} AS VARCHAR)"), ("right", f"CAST({b} AS VARCHAR)")]
            fields.append(("diff", f"CAST({a} - {b} AS VARCHAR)"))
        elif item.days is not None:
            ok = f"greatest(abs(b.cmx{i} - a.cmn{i}), abs(a.cmx{i} - b.cmn{i})) <= {item.days}"
            fields += [("left", _span(f"a.cmn{i}", f"a.cmx{i}")), ("right", _span(f"b.cmn{i}", f"b.cmx{i}"))]
            fields.append(("days", f"b.cmx{i} - a.cmn{i}"))
        else:
            same = (
                f"a.cmn{i} = a.cmx{i} AND a.cmx{i} = b.cmn{i} AND b.cmn{i} = b.cmx{i} "
                f"AND a.cc{i} = a.n AND b.cc{i} = b.n"
            )
            ok = f"(({same}) OR (a.cc{i} = 0 AND b.cc{i} = 0))"
            fields += [("left", _span(f"a.cmn{i}", f"a.cmx{i}")), ("right", _span(f"b.cmn{i}", f"b.cmx{i}"))]
        ok = f"coalesce({ok}, false)"
        oks.append(ok)
        compare.append(_obj(*fields, ("ok", ok)))
    match = [
        _obj(_field(cond), ("left", _span(f"a.mn{i}", f"a.mx{i}")), ("right", _span(f"b.mn{i}", f"b.mx{i}")))
        for i, cond in enumerate(spec.match)
    ]
    parts = [("members", _obj(("left", "a.n"), ("right", "b.n")))]
    if spec.sum is not None:
        total = sql.within_amount("a.s - b.s", "a.s", "b.s", spec.sum.abs, spec.sum.pct)
        parts.append(
            (
                "sum",
                _obj(
                    ("left", "CAST(a.s AS VARCHAR)"),
                    ("right", "CAST(b.s AS VARCHAR)"),
                    ("diff", "CAST(a.s - b.s AS VARCHAR)"),
                    ("ok", f"coalesce({total}, false)"),
                ),
            )
        )
    parts.append(("match", _array(match)))
    score = [
        _obj(
            ("field", sql.string_literal(field_name(item.left, item.right))),
            ("method", sql.string_literal(item.method)),
            ("sim", f"round(gs.__score{i}, 4)"),
        )
        for i, item in enumerate(spec.score)
        if f"score{i}" in sims
    ]
    if score:
        parts.append(("score", _array(score)))
    if compare:
        parts.append(("compare", _array(compare)))
    left, right = tables
    ok_all = " AND ".join(oks) or "true"
    query = f"""
        WITH a AS ({side_query(0, left, "left")}), b AS ({side_query(1, right, "right")})
        SELECT a.g, {ok_all} AS ok, CAST({_obj(*parts)} AS VARCHAR) AS e
        FROM a JOIN b ON a.g = b.g JOIN __gs gs ON gs.g = a.g ORDER BY a.g"""
    table = session.arrow(query)
    session.con.unregister("__fm")
    session.con.unregister("__gs")
    if table.num_rows != n_groups:
        raise EngineError(f"pass '{plan.name}': {table.num_rows} group explanations for {n_groups} groups")
    ok_values = np.asarray(table.column("ok").to_numpy(zero_copy_only=False), dtype=bool)
    return ok_values, table.column("e").combine_chunks()
