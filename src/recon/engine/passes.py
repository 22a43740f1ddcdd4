"""Pass outcomes, status decisions, the unmatched-reason book, and the one_to_one pass."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from recon.engine import dates
from recon.engine.arrays import BoolArray, FloatArray, Int8Array, IntArray
from recon.engine.executor import Session
from recon.engine.explain import pair_explanation_chunks
from recon.engine.margin import Rivals
from recon.engine.model import PassSpec
from recon.engine.packed import SLICE, PackedTexts
from recon.engine.planner import PassPlan, condition_alias
from recon.engine.timing import stage

MATCHED, SUGGESTED, BREAK = 0, 1, 2
STATUS_NAMES = ("matched", "suggested", "break")
# unmatched reasons in increasing precedence (the strongest seen across all passes wins)
NO_CANDIDATE, BELOW_MIN_SCORE, AMBIGUOUS = 0, 1, 2


@dataclass
class PassResult:
    """Groups found by one pass, ordered by their smallest left record id."""

    spec: PassSpec
    group: IntArray  # per member: group number within the pass
    side: Int8Array  # per member: 0 left, 1 right
    rid: IntArray  # per member
    status: Int8Array  # per group
    score: FloatArray  # per group
    # per group (JSON text); may still be in the making, and is kept compressed once packed
    explanation: pa.Array | PackedTexts | Future[pa.Array] | Future[PackedTexts]
    # one_to_one passes: per pair, its best rival (recon.engine.margin), for a later pass's take-back
    rivals: Rivals | None = None
    # per group: a JSON member ('"name":{...}') added to its explanation after the pass (a take-back)
    notes: dict[int, str] = field(default_factory=dict)

    def ready(self) -> pa.Array | PackedTexts:
        if isinstance(self.explanation, Future):
            self.explanation = self.explanation.result()
        return self.explanation

    def explanations(self) -> pa.Array:
        """All explanations as one array (decompressed anew on every call when packed)."""
        ready = self.ready()
        values = ready.unpack() if isinstance(ready, PackedTexts) else ready
        return self._noted(values, 0)

    def explanation_slices(self) -> Iterator[pa.Array]:
        """The explanations in order, SLICE groups at a time (at most one slice decompressed at once)."""
        ready = self.ready()
        if isinstance(ready, PackedTexts):
            first = 0
            for values in ready.slices():
                yield self._noted(values, first)
                first += len(values)
            return
        for start in range(0, len(ready), SLICE):
            yield self._noted(ready.slice(start, SLICE), start)

    def _noted(self, values: pa.Array, first: int) -> pa.Array:
        """The explanations of groups first.. with this pass's notes added (as a last JSON member)."""
        inside = [group for group in self.notes if first <= group < first + len(values)]
        if not inside:
            return values
        texts = values.to_pylist()
        for group in inside:
            text = texts[group - first]
            texts[group - first] = text[:-1] + "," + self.notes[group] + "}"
        return pa.array(texts, pa.string())

    def pack(self, session: Session) -> None:
        """Compress the explanations in the background once they are made (after the explaining job:
        the background pool runs one job at a time, in order)."""
        made = self.explanation

        def compress() -> PackedTexts:
            values = made.result() if isinstance(made, Future) else made
            if isinstance(values, PackedTexts):  # packed as they were made
                return values
            with stage(f"{self.spec.name}: pack explanations (background)"):
                return PackedTexts(values)

        if not isinstance(made, PackedTexts):
            self.explanation = session.background(compress)

    @property
    def groups(self) -> int:
        return len(self.status)

    def used(self, side: int) -> IntArray:
        return np.asarray(self.rid[self.side == side], dtype=np.int64)


@dataclass(frozen=True)
class Detail:
    """What happened to an `ambiguous` record, when more is known than a lost tie: a text with `{rival}`
    where the rival record's id goes (the rival: `rival_side`, `rival_rid`)."""

    text: str
    rival_side: str
    rival_rid: int


@dataclass
class Reasons:
    """Why records stayed unmatched: the strongest reason seen in any pass, with its pass and best score,
    and for some records a Detail (sparse: rid -> Detail per side)."""

    size: dict[str, int]
    level: dict[str, Int8Array] = field(init=False)
    pass_index: dict[str, IntArray] = field(init=False)
    best: dict[str, FloatArray] = field(init=False)
    details: dict[str, dict[int, Detail]] = field(init=False)

    def __post_init__(self) -> None:
        self.level = {side: np.zeros(n, np.int8) for side, n in self.size.items()}
        self.pass_index = {side: np.full(n, -1, np.int64) for side, n in self.size.items()}
        self.best = {side: np.full(n, np.nan) for side, n in self.size.items()}
        self.details = {side: {} for side in self.size}

    def note(
        self,
        side: str,
        rids: IntArray,
        level: int,
        pass_index: int,
        *,
        best: FloatArray | None = None,
        details: list[Detail] | None = None,
    ) -> None:
        """Raise the reason of `rids` to `level` where it is weaker. `details` (one per rid) replace the
        detail of the records raised; without them, a raised record's earlier detail is dropped."""
        if len(rids) == 0:
            return
        stronger = self.level[side][rids] < level
        raised = rids[stronger]
        self.level[side][raised] = level
        self.pass_index[side][raised] = pass_index
        if best is not None:
            self.best[side][raised] = best[stronger]
        book = self.details[side]
        if details is not None:
            for rid, detail, up in zip(rids.tolist(), details, stronger.tolist(), strict=True):
                if up:
                    book[rid] = detail
        elif book:
            for rid in raised.tolist():
                book.pop(rid, None)


def decide_status(spec: PassSpec, score: FloatArray, tied: BoolArray, compare_ok: BoolArray) -> Int8Array:
    """suggested (tie, `suggest`, or score below `suggest_below`) > break (a compare differs) > matched."""
    status = np.where(compare_ok, MATCHED, BREAK).astype(np.int8)
    suggested = tied.copy()
    if spec.suggest:
        suggested[:] = True
    if spec.suggest_below is not None:
        suggested |= score < spec.suggest_below - 1e-12
    status[suggested] = SUGGESTED
    return status


def run_one_to_one(
    session: Session, plan: PassPlan, available: tuple[IntArray, IntArray], reasons: Reasons
) -> PassResult:
    spec = plan.spec
    left_table = session.pass_table("pl", "left", plan, available[0], "probe")
    right_table = session.pass_table("pr", "right", plan, available[1], "build")
    window = dates.date_window(spec)
    extra = dates.extra_columns(spec, condition_alias(window[0]) if window else None)
    candidates = session.pair_candidates(plan, left_table, right_table, extra)
    reasons.note("left", candidates.below_left, BELOW_MIN_SCORE, spec.index, best=candidates.below_best_left)
    reasons.note(
        "right", candidates.below_right, BELOW_MIN_SCORE, spec.index, best=candidates.below_best_right
    )
    diff = candidates.extra.get(dates.DIFF_COLUMN)
    decision, evidence = dates.decision_scores(
        spec,
        candidates.left,
        candidates.right,
        candidates.score,
        None if diff is None else diff.astype(np.int64),
    )
    with stage(f"{spec.name}: assign"):
        chosen, rivals = session.backend.solve(candidates.left, candidates.right, decision, spec.margin)
    reasons.note("left", np.union1d(chosen.ambiguous_left, rivals.losers_left), AMBIGUOUS, spec.index)
    reasons.note("right", np.union1d(chosen.ambiguous_right, rivals.losers_right), AMBIGUOUS, spec.index)
    edges = chosen.edges  # ascending, and candidates are sorted by left rid: groups come in left-id order
    left, right, score = candidates.left[edges], candidates.right[edges], candidates.score[edges]
    status = decide_status(spec, score, chosen.tied | rivals.present, candidates.compare_ok[edges])
    sims = {name: values[edges] for name, values in candidates.sims.items()}
    compares = {name: values[edges] for name, values in candidates.compares.items()}
    greedy = chosen.greedy
    date_bits = None
    if evidence is not None and diff is not None:
        chosen_diff = diff[edges].astype(np.int64)
        date_bits = (chosen_diff, evidence.level_bits(chosen_diff), decision[edges] - score)
    vocabularies = session.vocabularies  # this pass's word weights, for the explanations

    def explain() -> PackedTexts:
        with stage(f"{spec.name}: explain (background)"):
            chunks = pair_explanation_chunks(
                session,
                plan,
                (left, right),
                sims=sims,
                compare_ok=compares,
                greedy=greedy,
                rivals=rivals,
                vocabularies=vocabularies,
                date_bits=date_bits,
            )
            return PackedTexts.from_chunks(chunks)  # packed as they are made

    explanation = session.background(explain)
    n = len(edges)
    return PassResult(
        spec=spec,
        group=np.repeat(np.arange(n, dtype=np.int64), 2),
        side=np.tile(np.array([0, 1], np.int8), n),
        rid=np.column_stack([left, right]).ravel(),
        status=status,
        score=score,
        explanation=explanation,
        rivals=rivals,
    )
