"""Word agreement of frequency-weighted similarity against a plain per-pair reading of its definition
(recon.engine.frequency's module doc), and the bound that spares comparing words that cannot agree."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import distance, fuzz

from recon.engine import frequency

METHODS = ("token_set", "jaro_winkler", "levenshtein")
LETTERS = "ABCDEIKLMNORSTUaeiÉÖß0"


def _scorer(method: str, first: str, second: str) -> float:
    if method == "jaro_winkler":
        return float(distance.JaroWinkler.normalized_similarity(first, second))
    if method == "levenshtein":
        return float(distance.Levenshtein.normalized_similarity(first, second))
    return float(fuzz.ratio(first, second)) / 100.0


def _reference_word(vocab: frequency.Vocabulary, a: int, b: int, method: str) -> float:
    """The word similarity as defined: equal 1; fuzzy words their method's; abbreviations ABBREVIATION."""
    if a == b:
        return 1.0
    first, second = vocab.words[a].as_py(), vocab.words[b].as_py()
    if vocab.digits[a] or vocab.digits[b]:
        return 0.0
    short, long = sorted((len(first), len(second)))
    value = 0.0
    if short >= frequency.MIN_FUZZY_LENGTH and long - short <= long // 3:
        value = _scorer(method, first, second)
    if value < frequency.THRESHOLD[method] and frequency._abbreviates(first, second):
        value = frequency.ABBREVIATION
    return value


def _reference(vocab: frequency.Vocabulary, left: int, right: int, method: str, weight: np.ndarray) -> float:
    """Weighted word agreement of one record pair, word by word (see the module doc)."""
    lw = vocab.record_words("left", np.array([left], np.int64))[1].tolist()
    rw = vocab.record_words("right", np.array([right], np.int64))[1].tolist()
    threshold = frequency.THRESHOLD[method] - 1e-12
    sims = {(a, b): _reference_word(vocab, a, b, method) for a in lw for b in rw}
    agreement = loss = agreeing = agreeing_mass = 0.0
    lone: list[list[float]] = [[], []]
    sides: tuple[tuple[int, list[int], list[int]], ...] = ((0, lw, rw), (1, rw, lw))
    for side, own, other in sides:
        side_gain = side_loss = 0.0
        for word in own:
            best_gain, best_mass = 0.0, -1.0
            for partner in other:
                sim = sims[(word, partner) if side == 0 else (partner, word)]
                if sim >= threshold:
                    shared = min(weight[word], weight[partner])
                    best_gain, best_mass = max(best_gain, sim * shared), max(best_mass, shared)
            if best_mass >= 0:
                side_gain += best_gain
                side_loss += best_mass - best_gain
                agreeing += 1
                agreeing_mass += best_mass
            else:
                lone[side].append(float(weight[word]))
        agreement += side_gain / 2
        loss += side_loss / 2
    unit = agreeing_mass / agreeing if agreeing else np.inf
    conflict = min(sum(lone[0]), sum(lone[1]))
    extra = abs(sum(min(b, unit) for b in lone[0]) - sum(min(b, unit) for b in lone[1]))
    total = agreement + loss + conflict + frequency.ONE_SIDED * extra
    return agreement / total if total > 0 else 0.0


NAMES = [
    "Acme Trading GmbH",
    "ACME TRADNG",
    "Intl Print Services",
    "INTERNATIONAL PRINT SVCS COLOGNE",
    "Müller Bau AG",
    "MUELLER BAU",
    "Sepa Credit Transfer Acme 4711",
    "SEPA CT ACME TRADING 4711 INVOICE",
    "Constr Supplies Ltd",
    "CONSTRUCTION SUPPLIES LIMITED",
    "Öko Strom Genossenschaft",
    "OKO STROM",
    "",
    "Acme",
]


@pytest.mark.parametrize("method", METHODS)
def test_weighted_similarity_is_its_word_by_word_definition(method: str) -> None:
    left = pa.array([*NAMES[::2], None, "Acme"])
    right = pa.array([*NAMES[1::2], "x", "Tradings"])  # the last word id: what padding (-1) reads
    vocab = frequency.build_vocabulary(left, right)
    grid = np.meshgrid(np.arange(len(left)), np.arange(len(right)), indexing="ij")
    lefts, rights = grid[0].ravel().astype(np.int64), grid[1].ravel().astype(np.int64)
    weighted, plain = frequency.weighted_similarity(vocab, lefts, rights, method)
    ones = np.ones(len(vocab.weight))
    for k, (lr, rr) in enumerate(zip(lefts.tolist(), rights.tolist(), strict=True)):
        assert weighted[k] == pytest.approx(_reference(vocab, lr, rr, method, vocab.weight), abs=1e-12)
        assert plain[k] == pytest.approx(_reference(vocab, lr, rr, method, ones), abs=1e-12)


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(st.text(alphabet=LETTERS, min_size=1, max_size=12), min_size=2, max_size=12, unique=True),
    method=st.sampled_from(METHODS),
)
def test_words_ruled_out_without_comparing_could_not_agree(words: list[str], method: str) -> None:
    vocab = frequency.build_vocabulary(pa.array(words), pa.array(words[::-1]), None)
    n = len(vocab.weight)
    a, b = (ids.ravel().astype(np.int64) for ids in np.meshgrid(np.arange(n), np.arange(n), indexing="ij"))
    may = frequency._may_agree(vocab, a, b, method)
    sims = frequency._word_similarity(vocab, a, b, method)
    threshold = frequency.THRESHOLD[method] - 1e-12
    for k, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        expected = _reference_word(vocab, x, y, method)
        first, second = vocab.words[x].as_py(), vocab.words[y].as_py()
        if _scorer(method, first, second) >= threshold:
            assert may[k], (first, second)
        assert (sims[k] >= threshold) == (expected >= threshold), (first, second)
        if expected >= threshold:
            assert sims[k] == expected


UNIT = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(UNIT, UNIT, st.one_of(st.just(0.0), UNIT)), min_size=1, max_size=40))
def test_adjusted_in_place_equals_its_formula(rows: list[tuple[float, float, float]]) -> None:
    """frequency.adjusted works on two buffers; its values are bit for bit those of the formula it states
    (factor = min(weighted / plain, MAX_BOOST), 1 without agreeing words; a gain never above the weighted
    agreement or the raw similarity; clipped to [0, 1]), and its inputs are left as they were."""
    raw, weighted, plain = (np.array(column) for column in zip(*rows, strict=True))
    before = raw.copy(), weighted.copy(), plain.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(plain > 0, np.minimum(weighted / plain, frequency.MAX_BOOST), 1.0)
    scaled = raw * factor
    gain = np.minimum(scaled, np.maximum(raw, weighted))
    expected = np.clip(np.where(factor > 1.0, gain, scaled), 0.0, 1.0)
    assert np.array_equal(frequency.adjusted(raw, weighted, plain), expected)
    for now, then in zip((raw, weighted, plain), before, strict=True):
        assert np.array_equal(now, then)
