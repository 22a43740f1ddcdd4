"""Explanations (compact JSON, fixed key order) and the comparisons of grouped matches.

Pair explanations are concatenated with Arrow kernels (DuckDB's json_object costs ~3 us a row, too much for
a million pairs); group explanations and comparisons are one DuckDB query over the group members.

Pair explanation:  {"match": [{"field", "left", "right", ["diff" | "days" | "sim"], "ok"}, ...],
                    "score": [{"field", "method", "left", "right", "sim", "weight",
                               ["words": {"left": {word: bits}, "right": {word: bits}}]}, ...],
                    ["date": {"diff", "bits", "adjust"}],
                    "compare": [{"field", "left", "right", ["diff" | "days"], "ok"}, ...],
                    ["assignment": "greedy"], ["rival": {"side", "id", "score"}]}
`words` (frequency-weighted items) lists each text's words with the weight the data gave them; `rival` names
the best other candidate within the pass's margin of a `suggested` pair or group (its decision score); `date`
(scored one_to_one passes with a date window, recon.engine.dates) gives the pair's signed date difference,
its weight in bits and the adjustment of the decision score.
Group explanation: {"members": {"left", "right"}, "sum": {"left", "right", "diff", "ok"},
                    "match": [{"field", "left", "right"}], "score": [{"field", "method", "sim"}],
                    "compare": [{"field", "left", "right", ["diff" | "days"], "ok"}]}
Values are text as in the input; a group shows one value when its members agree, else "min..max".
Money differences are decimal strings (left - right), date differences are days (right - left).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from recon.engine import frequency, normalize, sql
from recon.engine.arrays import FloatArray, IntArray
from recon.engine.errors import EngineError
from recon.engine.executor import Session
from recon.engine.frequency import Vocabularies, Vocabulary
from recon.engine.margin import LEFT_RIVAL, RIGHT_RIVAL, Rivals
from recon.engine.model import CompareItem, Condition, PassSpec
from recon.engine.planner import ItemKey, ItemKind, PassPlan

EXPLAIN_CHUNK = 1 << 17
DateBits = tuple[IntArray, FloatArray, FloatArray]  # per pair: date difference, its bits, score adjustment


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


class JsonRows:
    """One JSON text per row, concatenated from literal pieces and value columns with Arrow kernels.

    (DuckDB's JSON functions cost about 3 microseconds per row here; Arrow concatenation a fraction.)"""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.pieces: list[str | pa.Array] = []

    def lit(self, text: str) -> None:
        if self.pieces and isinstance(self.pieces[-1], str):
            self.pieces[-1] += text
        else:
            self.pieces.append(text)

    def raw(self, values: pa.Array) -> None:
        """Values that already are JSON (numbers, true/false); nulls become null."""
        self.pieces.append(pc.fill_null(values.cast(pa.string()), "null"))

    def string(self, values: pa.Array | pa.ChunkedArray) -> None:
        text = values.cast(pa.string())
        if isinstance(text, pa.ChunkedArray):
            text = text.combine_chunks()
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            text = _escaped(text)  # numbers and dates never need escaping
        if text.null_count == 0:
            self.lit('"')
            self.pieces.append(text)
            self.lit('"')
        else:
            self.pieces.append(pc.fill_null(pc.binary_join_element_wise('"', text, '"', ""), "null"))

    def build(self) -> pa.Array:
        if not any(isinstance(piece, pa.Array) for piece in self.pieces):
            return pa.array(["".join(str(p) for p in self.pieces)] * self.rows, pa.string())
        args = [pa.scalar(p, pa.string()) if isinstance(p, str) else p for p in self.pieces]
        return pc.binary_join_element_wise(*args, pa.scalar("", pa.string()))


def _escaped(text: pa.Array) -> pa.Array:
    """JSON string escaping; the common case (nothing to escape) is one pass over the bytes."""
    data = _value_bytes(text)
    if not ((data < 0x20) | (data == 0x22) | (data == 0x5C)).any():
        return text
    if (data < 0x20).any():
        escaped = [None if v is None else json.dumps(v, ensure_ascii=False)[1:-1] for v in text.to_pylist()]
        return pa.array(escaped, pa.string())
    return pc.replace_substring(pc.replace_substring(text, "\\", "\\\\"), '"', '\\"')


def _value_bytes(text: pa.Array) -> npt.NDArray[np.uint8]:
    """The UTF-8 bytes of a string array's values (buffers may hold padding beyond them)."""
    if len(text) == 0 or text.buffers()[2] is None:
        return np.zeros(0, np.uint8)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32, count=len(text) + 1, offset=text.offset * 4)
    data = np.frombuffer(text.buffers()[2], dtype=np.uint8)
    return data[offsets[0] : offsets[-1]]


def _difference(left: pa.Array, right: pa.Array) -> pa.Array:
    """left - right as text; decimals exactly (via decimal256 so no precision is lost)."""
    if pa.types.is_decimal(left.type) or pa.types.is_decimal(right.type):
        scale = max(getattr(left.type, "scale", 0), getattr(right.type, "scale", 0))
        wide = pa.decimal256(70, scale)
        return pc.subtract(left.cast(wide), right.cast(wide)).cast(pa.string())
    return pc.subtract(left, right).cast(pa.string())


def _sim(values: FloatArray) -> pa.Array:
    return pa.array(np.round(values, 4))


def pair_explanation_chunks(
    session: Session,
    plan: PassPlan,
    pairs: tuple[IntArray, IntArray],
    *,
    sims: dict[ItemKey, FloatArray],
    compare_ok: dict[ItemKey, npt.NDArray[np.bool_]],
    greedy: npt.NDArray[np.bool_],
    rivals: Rivals | None = None,
    vocabularies: Vocabularies | None = None,
    date_bits: DateBits | None = None,
) -> Iterator[pa.Array]:
    """One JSON explanation per chosen pair, in the order given (see the module doc), EXPLAIN_CHUNK pairs
    at a time (at least one chunk); `vocabularies`: the word weights of the pass (default: the session's
    current ones). The value columns and text pieces of a chunk are temporary (all at once added ~180 MB
    at 730k pairs), and a caller that packs each chunk (recon.engine.packed) never holds a whole pass's
    texts."""
    for start in range(0, max(len(pairs[0]), 1), EXPLAIN_CHUNK):
        part = slice(start, start + EXPLAIN_CHUNK)
        yield _pair_explanations(
            session,
            plan,
            (pairs[0][part], pairs[1][part]),
            sims={key: values[part] for key, values in sims.items()},
            compare_ok={key: values[part] for key, values in compare_ok.items()},
            greedy=greedy[part],
            rivals=_rivals_slice(rivals, part),
            vocabularies=vocabularies,
            date_bits=None
            if date_bits is None
            else (date_bits[0][part], date_bits[1][part], date_bits[2][part]),
        )


def _rivals_slice(rivals: Rivals | None, part: slice) -> Rivals | None:
    if rivals is None:
        return None
    return Rivals(
        rivals.side[part], rivals.node[part], rivals.score[part], rivals.losers_left, rivals.losers_right
    )


def _pair_explanations(
    session: Session,
    plan: PassPlan,
    pairs: tuple[IntArray, IntArray],
    *,
    sims: dict[ItemKey, FloatArray],
    compare_ok: dict[ItemKey, npt.NDArray[np.bool_]],
    greedy: npt.NDArray[np.bool_],
    rivals: Rivals | None,
    vocabularies: Vocabularies | None,
    date_bits: DateBits | None = None,
) -> pa.Array:
    words: dict[int, tuple[pa.Array, pa.Array]] = {}
    pooled: dict[int, PooledWords] = {}
    chosen = vocabularies or session.vocabularies
    for i, part in enumerate(plan.scores):
        text = part.text
        if not text.weighted:
            continue
        counted = chosen.pooled(text.vocabulary)
        if counted is not None and chosen.known(text.vocabulary) is None:
            # weighed where the pass tables are: the backend makes the word texts there from the same
            # vocabulary (the driver has no record's words)
            pooled[i] = PooledWords(text.left_column, text.right_column, text.normalize, counted)
            continue
        vocabulary = session.vocabulary(text, vocabularies)
        words[i] = (word_weights(vocabulary, "left", pairs[0]), word_weights(vocabulary, "right", pairs[1]))
    rival = rival_text(session, rivals) if rivals is not None and rivals.present.any() else None
    made = session.backend.pair_explanations(
        plan.spec, pairs, PairFacts(sims, compare_ok, greedy, words, date_bits, rival, pooled)
    )
    if made is not None:
        return made
    for i in pooled:  # the backend made no explanations: the driver's words, the same texts
        vocabulary = session.vocabulary(plan.scores[i].text, vocabularies)
        words[i] = (word_weights(vocabulary, "left", pairs[0]), word_weights(vocabulary, "right", pairs[1]))
    left_rids, right_rids = pa.array(pairs[0]), pa.array(pairs[1])
    cache: dict[tuple[str, str], pa.Array] = {}

    def value(side: str, column: str) -> pa.Array:
        if (side, column) not in cache:
            rids = left_rids if side == "left" else right_rids
            cache[side, column] = session.column(side, column).take(rids)
        return cache[side, column]

    return pair_json(
        plan.spec, len(pairs[0]), value, PairFacts(sims, compare_ok, greedy, words, date_bits, rival)
    )


@dataclass(frozen=True)
class PairFacts:
    """What a pair explanation says besides the records' values, per pair (numpy/Arrow, made on the
    driver): the items' similarities, the compare items' outcomes, greedy assignments, the weighted score
    items' word weights (by score item: the left and right records' JSON objects), the date evidence and
    the rival texts (None: no pair has a rival); `pooled`: weighted score items whose word texts the
    backend makes (pooled_word_texts) from the records' values and the pass's pooled vocabulary."""

    sims: dict[ItemKey, FloatArray]
    compare_ok: dict[ItemKey, npt.NDArray[np.bool_]]
    greedy: npt.NDArray[np.bool_]
    words: dict[int, tuple[pa.Array, pa.Array]]
    date_bits: DateBits | None
    rival: pa.Array | None
    pooled: dict[int, PooledWords] = field(default_factory=dict)


@dataclass(frozen=True)
class PooledWords:
    """A weighted score item weighed where the pass tables are: its columns, normalizers and the pass's
    pooled vocabulary (frequency.pooled_vocabulary)."""

    left_column: str
    right_column: str
    normalize: tuple[str, ...]
    vocabulary: Vocabulary


def pooled_word_texts(
    words: PooledWords, value: Callable[[str, str], pa.Array], index: dict[str, int] | None = None
) -> tuple[pa.Array, pa.Array]:
    """The word-weight texts (word_weights) of pairs of records from their values (`value(side,
    column)`, in pair order, as pair_json reads them): each value normalised by the item's normalizers
    (normalize.apply, as the engine derives the column) and its words taken from the pooled vocabulary
    (frequency.texts_words: the words and ids build_vocabulary gives the record). `index`: the
    vocabulary's word_index."""
    owners = [
        frequency.texts_words(words.vocabulary, normalize.apply(value(side, column), words.normalize), index)
        for side, column in (("left", words.left_column), ("right", words.right_column))
    ]
    vocabulary = frequency.with_words(words.vocabulary, owners[0], owners[1])
    rows = np.arange(len(owners[0].offsets) - 1, dtype=np.int64)
    return word_weights(vocabulary, "left", rows), word_weights(vocabulary, "right", rows)


def pair_json(spec: PassSpec, rows: int, value: Callable[[str, str], pa.Array], facts: PairFacts) -> pa.Array:
    """The pair explanations (see the module doc) of `rows` pairs: `value(side, column)` gives the pairs'
    records' values of a column, in pair order. Both backends run this function: the driver over its
    sides' columns, the Spark backend in Spark over the pairs joined to the sides (engine.spark.explain)."""
    sims, compare_ok = facts.sims, facts.compare_ok
    out = JsonRows(rows)
    out.lit('{"match":[')
    for i, cond in enumerate(spec.match):
        out.lit(("," if i else "") + '{"field":' + json.dumps(field_name(cond.left, cond.right)) + ',"left":')
        out.string(value("left", cond.left))
        out.lit(',"right":')
        out.string(value("right", cond.right))
        if cond.op == "tolerance":
            out.lit(',"diff":')
            out.string(_difference(value("left", cond.left), value("right", cond.right)))
        elif cond.op == "within_days":
            out.lit(',"days":')
            out.raw(pc.days_between(_as_date(value("left", cond.left)), _as_date(value("right", cond.right))))
        elif cond.op == "similarity":
            out.lit(',"sim":')
            out.raw(_sim(sims[ItemKey(ItemKind.CHECK, i)]))
        out.lit(',"ok":true}')
    out.lit("]")
    if spec.score:
        out.lit(',"score":[')
        for i, item in enumerate(spec.score):
            out.lit(("," if i else "") + '{"field":' + json.dumps(field_name(item.left, item.right)))
            out.lit(f',"method":"{item.method}","left":')
            out.string(value("left", item.left))
            out.lit(',"right":')
            out.string(value("right", item.right))
            out.lit(',"sim":')
            out.raw(_sim(sims[ItemKey(ItemKind.SCORE, i)]))
            out.lit(f',"weight":{item.weight!r}')
            if i in facts.words:
                out.lit(',"words":{"left":')
                out.pieces.append(facts.words[i][0])
                out.lit(',"right":')
                out.pieces.append(facts.words[i][1])
                out.lit("}")
            out.lit("}")
        out.lit("]")
    if facts.date_bits is not None:
        out.pieces.append(date_text(*facts.date_bits))
    if spec.compare:
        out.lit(',"compare":[')
        for i, cmp in enumerate(spec.compare):
            out.lit(
                ("," if i else "") + '{"field":' + json.dumps(field_name(cmp.left, cmp.right)) + ',"left":'
            )
            out.string(value("left", cmp.left))
            out.lit(',"right":')
            out.string(value("right", cmp.right))
            if cmp.abs is not None or cmp.pct is not None:
                out.lit(',"diff":')
                out.string(_difference(value("left", cmp.left), value("right", cmp.right)))
            elif cmp.days is not None:
                out.lit(',"days":')
                out.raw(
                    pc.days_between(_as_date(value("left", cmp.left)), _as_date(value("right", cmp.right)))
                )
            out.lit(',"ok":')
            out.raw(pa.array(compare_ok[ItemKey(ItemKind.COMPARE, i)]))
            out.lit("}")
        out.lit("]")
    if facts.greedy.any():
        out.pieces.append(pc.if_else(pa.array(facts.greedy), ',"assignment":"greedy"', ""))
    if facts.rival is not None:
        out.pieces.append(facts.rival)
    out.lit("}")
    return out.build()


def date_text(diff: IntArray, bits: FloatArray, adjust: FloatArray) -> pa.Array:
    """',"date":{"diff":d,"bits":b,"adjust":a}' per pair: the signed date difference (right - left, in the
    window's unit), its weight in bits and what it took off the decision score (recon.engine.dates)."""
    text = [
        f',"date":{{"diff":{d},"bits":{round(b, 2)!r},"adjust":{round(a, 4) + 0.0!r}}}'
        for d, b, a in zip(diff.tolist(), bits.tolist(), adjust.tolist(), strict=True)
    ]
    return pa.array(text, pa.string())


def rival_text(session: Session, rivals: Rivals, ids: dict[str, pa.Array] | None = None) -> pa.Array:
    """',"rival":{"side":..,"id":..,"score":..}' per chosen edge with a rival, '' for the others.

    `ids` names the nodes of each side (record ids by default; a group's first member for group nodes)."""
    present = rivals.present
    text = np.full(len(present), "", dtype=object)
    for code, name in ((LEFT_RIVAL, "left"), (RIGHT_RIVAL, "right")):
        rows = np.flatnonzero(rivals.side == code)
        if len(rows) == 0:
            continue
        names = ids[name] if ids is not None else session.sides[name].ids
        found = names.take(pa.array(rivals.node[rows])).to_pylist()
        for row, rival_id, score in zip(rows.tolist(), found, rivals.score[rows].tolist(), strict=True):
            text[row] = (
                f',"rival":{{"side":"{name}","id":{json.dumps(rival_id, ensure_ascii=False)},'
                f'"score":{round(score, 4)!r}}}'
            )
    return pa.array(text.tolist(), pa.string())


def word_weights(vocabulary: Vocabulary, side: str, rids: IntArray) -> pa.Array:
    """Per record a JSON object of its words and their weights in bits, e.g. {"ACME":17.2,"GMBH":0.4}."""
    owner, ids = vocabulary.record_words(side, rids)
    if len(ids) == 0:
        return pa.array(["{}"] * len(rids), pa.string())
    words = _escaped(vocabulary.words.take(pa.array(ids)).cast(pa.string()))
    weights = pa.array(np.round(vocabulary.weight[ids], 1)).cast(pa.string())
    entries = pc.binary_join_element_wise('"', words, '":', weights, "")
    offsets = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=len(rids)))]).astype(np.int32)
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), entries), ",")
    return pc.binary_join_element_wise("{", joined, "}", "")


def _as_date(values: pa.Array) -> pa.Array:
    return values if pa.types.is_date(values.type) else values.cast(pa.timestamp("us")).cast(pa.date32())


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
    sims: dict[ItemKey, FloatArray],
) -> tuple[npt.NDArray[np.bool_], pa.Array]:
    """(compare ok, explanation) per group 0..n-1; members = (group, side 0/1, rid)."""
    group, side, rid = members
    n_groups = int(group.max()) + 1 if len(group) else 0
    session.register("__fm", pa.table({"g": group, "side": side.astype(np.int8), "rid": rid}))
    session.register("__gs", pa.table({"g": np.arange(n_groups), **{k.column: v for k, v in sims.items()}}))
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
            ("sim", f"round(gs.{ItemKey(ItemKind.SCORE, i).column}, 4)"),
        )
        for i, item in enumerate(spec.score)
        if ItemKey(ItemKind.SCORE, i) in sims
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
    session.unregister("__fm")
    session.unregister("__gs")
    if table.num_rows != n_groups:
        raise EngineError(f"pass '{plan.name}': {table.num_rows} group explanations for {n_groups} groups")
    ok_values = np.asarray(table.column("ok").to_numpy(zero_copy_only=False), dtype=bool)
    return ok_values, table.column("e").combine_chunks()
