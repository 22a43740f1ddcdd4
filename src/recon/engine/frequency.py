"""Frequency-weighted text similarity: words that many records share count less than rare ones.

The term-frequency idea of Fellegi-Sunter linkage (splink's "term frequency adjustments"): agreement on a
value that random record pairs often share is weak evidence. The u-probability of a word -- how likely two
unrelated records both contain it -- is estimated from the data itself, without labels, as the share of
the records a pass can still pair (both sides pooled, the records open in that pass) that contain the
word; its weight is the information it carries, `w = log2(records / records with the word)` bits: a legal
form or "PAYMENT" in half the records is worth 1 bit, a brand name seen in 3 of a million records about 18.
Counting only the open records is what the pass's candidates are drawn from, and it costs a pass that runs
after the strict ones a fraction of counting every record.

Similarity of two texts A and B (each a set of words, at most MAX_WORDS of the highest weights) under an
item's method (jaro_winkler, levenshtein, token_set -> character similarity of words; exact -> equal words):

    each word t of A finds its most similar word u of B (and each word of B one of A); they agree when
    sim(t, u) >= THRESHOLD[method] (words with digits must be equal, words shorter than 4 characters too);
    agreement = sim(t, u) * min(w_t, w_u) (a misspelt common word is still a common word), averaged over
                both directions; loss = the rest of min(w_t, w_u);
    words without a partner: conflict = min(unmatched bits of A, of B) (both say something different),
                extra = the difference (only one text says it: a city appended, a truncated tail), each
                such word weighing at most the mean weight of the agreeing words (a rare city appended is
                no stronger evidence against the pair than a common word);
    score = agreement / (agreement + loss + conflict + 0.25 * extra)

so two names that share only "TRADING GMBH" score low, while "ACME TRADNG" against "Acme Trading GmbH" scores
high. With `tf: false` an item compares the whole texts with its method as before. A text that is one word
on both sides scores its word similarity whatever the word's frequency (there is nothing to weigh it against).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import distance, fuzz, process

from recon.engine import normalize

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

MAX_WORDS = 6  # per value, the highest-weight words (long free text: its informative part)
MIN_FUZZY_LENGTH = 4  # shorter words (AG, SA, CO) agree only when equal
CHUNK_CELLS = 1 << 18  # word pairs compared at once (~40 MB of arrays; 1M cells held ~150 MB, same CPU)
THRESHOLD = {"jaro_winkler": 0.88, "levenshtein": 0.8, "token_set": 0.8, "exact": 1.0}
ABBREVIATION = 0.9  # the word similarity of an abbreviation (INTL ~ INTERNATIONAL)
MAX_BOOST = 2.0
ONE_SIDED = 0.25  # words only one text has (a city appended, a truncated tail) weigh a quarter of a conflict


@dataclass(frozen=True)
class Words:
    """The distinct words of each record of one side: record i owns ids[offsets[i]:offsets[i + 1]]."""

    offsets: IntArray
    ids: IntArray  # into the pooled vocabulary of a Vocabulary


@dataclass(frozen=True)
class Vocabulary:
    """Words of one item's column on both sides, pooled, with their weights in bits."""

    words: pa.Array  # pooled distinct words (strings)
    weight: FloatArray  # per word
    digits: npt.NDArray[np.bool_]  # per word: contains a digit
    length: IntArray  # per word, characters
    left: Words
    right: Words
    records: int  # non-empty values, both sides
    first: IntArray  # per word: a number for its first character (equal characters, equal numbers)

    def record_words(self, side: str, rids: IntArray) -> tuple[IntArray, IntArray]:
        """(owner index into rids, word id) of every word of the given records."""
        words = self.left if side == "left" else self.right
        start, stop = words.offsets[rids], words.offsets[rids + 1]
        counts = stop - start
        owner = np.repeat(np.arange(len(rids), dtype=np.int64), counts)
        first = np.cumsum(counts) - counts
        position = np.repeat(start - first, counts) + np.arange(int(counts.sum()), dtype=np.int64)
        return owner, words.ids[position]


KEY_WORDS = 3  # per record, its most informative words block crowded blocks (see key_words)
KEY_PREFIX = 4  # ... by their first characters: an abbreviation (SUPPL, CONSTR) keeps its word's start
KEY_MIN_BITS = 4.0  # ... and never a word one in 16 open records has (a legal form would pair them all)


def key_words(vocab: Vocabulary, side: str, per_record: int = KEY_WORDS) -> tuple[IntArray, IntArray]:
    """(rid, key id) of each record's `per_record` highest-weight words (at least KEY_MIN_BITS), for
    blocking crowded blocks on a shared informative word. A key is the word's first
    KEY_PREFIX characters: a bank's "PRINT SVCS GMBH COLOGNE" ranks an abbreviation and a city above the
    words it shares with "Print Services GmbH", and two of each side's best words found no partner (a third
    of the true pairs lost in crowded blocks of the dense demo); prefixes also pair SUPPL with SUPPLIES."""
    words = vocab.left if side == "left" else vocab.right
    counts = np.diff(words.offsets)
    owner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    weight = vocab.weight[words.ids]
    order = np.lexsort((words.ids, -weight, owner))
    rank = np.arange(len(order)) - np.repeat(words.offsets[:-1], counts)
    keep = order[(rank < per_record) & (weight[order] >= KEY_MIN_BITS)]
    keep.sort()
    prefix = pc.dictionary_encode(pc.utf8_slice_codeunits(vocab.words, 0, KEY_PREFIX)).indices
    key = np.asarray(prefix.to_numpy(zero_copy_only=False), np.int64)[words.ids[keep]]
    size = int(key.max(initial=0)) + 1
    pairs = np.unique(owner[keep] * size + key)
    return pairs // size, pairs % size


def record_words(text: pa.Array) -> tuple[IntArray, pa.Array]:
    """(record index, word) for the distinct words of each value (separators: not a letter or digit)."""
    lists = _split(text)
    lengths = np.asarray(
        pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False), np.int64
    )
    owner = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    flat = lists.flatten()
    encoded = pc.dictionary_encode(flat)
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), np.int64)
    size = max(len(encoded.dictionary), 1)
    keys = np.sort(owner * size + codes)
    keys = keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys
    return keys // size, encoded.dictionary.take(pa.array(keys % size))


def rarest_word(rids: IntArray, words: pa.Array, population: pa.Array) -> tuple[IntArray, pa.Array]:
    """Per record its word that is rarest in `population` (ties: the lower word)."""
    counts = pc.value_counts(population)
    frequency = pc.index_in(words, value_set=counts.field("values"))
    df = np.asarray(counts.field("counts").take(frequency).to_numpy(zero_copy_only=False), np.int64)
    order = np.lexsort((np.asarray(pc.sort_indices(pc.sort_indices(words)).to_numpy()), df, rids))
    first = order[np.r_[True, rids[order][1:] != rids[order][:-1]]] if len(order) else order
    return rids[first], words.take(pa.array(first))


def _split(text: pa.Array) -> pa.ListArray:
    """Words of normalized text (separators: anything but letters and digits)."""
    if not pc.any(pc.match_substring_regex(text, r"[^\p{L}\p{N} ]")).as_py():
        return pc.utf8_split_whitespace(text)  # already words (the default text form)
    return pc.utf8_split_whitespace(normalize.apply(text, ("words",)))


def build_vocabulary(
    left: pa.Array, right: pa.Array, records: tuple[IntArray, IntArray] | None = None
) -> Vocabulary:
    """Vocabulary of two normalized text columns (one value per record, null = no words); with `records`
    (left rids, right rids, ascending) only those records count and own words (the others own none)."""
    columns = [left, right]
    if records is not None:
        columns = [column.take(pa.array(rids)) for column, rids in zip(columns, records, strict=True)]
    lists = [_split(column) for column in columns]
    flat = pa.concat_arrays([lst.flatten() for lst in lists])
    encoded = pc.dictionary_encode(flat)
    del flat
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), np.int64)
    n_words = len(encoded.dictionary)
    sides: list[Words] = []
    doc_freq = np.zeros(n_words, np.int64)
    cursor = 0
    for lst in lists:
        lengths = np.asarray(
            pc.fill_null(pc.list_value_length(lst), 0).to_numpy(zero_copy_only=False), np.int64
        )
        n_flat = int(lengths.sum())
        ids = codes[cursor : cursor + n_flat]
        cursor += n_flat
        owner = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        # distinct words per record, owner-major (a sort: faster than np.unique's hash here)
        unique = np.sort(owner * n_words + ids)
        del owner
        unique = unique[np.r_[True, unique[1:] != unique[:-1]]] if n_flat else unique
        owner, ids = unique // max(n_words, 1), unique % max(n_words, 1)
        del unique
        doc_freq += np.bincount(ids, minlength=n_words)
        counts = np.bincount(owner, minlength=len(lengths))
        sides.append(Words(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), ids))
    del codes, lists
    n_records = int(sum(int(np.count_nonzero(np.diff(words.offsets))) for words in sides))
    weight = np.log2(
        (n_records + 1) / np.maximum(doc_freq, 1)
    )  # > 0: a word in every record still counts a little
    words_array = encoded.dictionary
    digits = np.asarray(pc.match_substring_regex(words_array, "[0-9]").to_numpy(zero_copy_only=False), bool)
    length = np.asarray(pc.utf8_length(words_array).to_numpy(zero_copy_only=False), np.int64)
    top = [_top_words(words, weight) for words in sides]
    if records is not None:
        top = [
            _spread(words, rids, len(column))
            for words, rids, column in zip(top, records, (left, right), strict=True)
        ]
    initial = pc.dictionary_encode(pc.utf8_slice_codeunits(words_array, 0, 1)).indices
    first = np.asarray(initial.to_numpy(zero_copy_only=False), np.int64)
    return Vocabulary(words_array, weight, digits, length, top[0], top[1], n_records, first)


def _spread(words: Words, rids: IntArray, n: int) -> Words:
    """Words of records 0..len(rids)-1 as words of records rids[0], rids[1], ... of n (others: none)."""
    counts = np.zeros(n, np.int64)
    counts[rids] = np.diff(words.offsets)
    return Words(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), words.ids)


def _top_words(words: Words, weight: FloatArray) -> Words:
    """Keep the MAX_WORDS highest-weight words of each record (ties: lower word id)."""
    counts = np.diff(words.offsets)
    if len(counts) == 0 or counts.max(initial=0) <= MAX_WORDS:
        return words
    owner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    order = np.lexsort((words.ids, -weight[words.ids], owner))
    rank = np.arange(len(order)) - np.repeat(words.offsets[:-1], counts)
    keep = np.zeros(len(order), bool)
    keep[order[rank < MAX_WORDS]] = True
    ids, owner = words.ids[keep], owner[keep]
    new_counts = np.bincount(owner, minlength=len(counts))
    return Words(np.concatenate([[0], np.cumsum(new_counts)]).astype(np.int64), ids)


class Vocabularies:
    """Vocabularies of one pass, built once per (left column, right column, normalizers) over the records
    open in that pass (`records`: left rids, right rids; None: every record); `generation` numbers the
    passes (0: before any), so that columns derived for a pass's open records are known to serve it."""

    def __init__(self, records: tuple[IntArray, IntArray] | None = None, generation: int = 0) -> None:
        self.records = records
        self.generation = generation if records is not None else 0
        self._built: dict[tuple[str, str, tuple[str, ...]], Vocabulary] = {}
        self._lock = threading.Lock()

    def known(self, key: tuple[str, str, tuple[str, ...]]) -> Vocabulary | None:
        """The vocabulary when it is built already."""
        with self._lock:
            return self._built.get(key)

    def get(self, key: tuple[str, str, tuple[str, ...]], left: pa.Array, right: pa.Array) -> Vocabulary:
        with self._lock:
            if key not in self._built:
                self._built[key] = build_vocabulary(left, right, self.records)
            return self._built[key]


def _word_similarity(vocab: Vocabulary, a: IntArray, b: IntArray, method: str) -> FloatArray:
    """Character similarity of word pairs (a[i], b[i]) in [0, 1]; 0 where they may not be fuzzy.

    Besides the method's similarity, an abbreviation agrees at ABBREVIATION: a short word whose letters
    appear in order in a longer word with the same first letter (INTL ~ INTERNATIONAL, TRDG ~ TRADING,
    CONSTR ~ CONSTRUCTION)."""
    sims: FloatArray = np.asarray(a == b, dtype=np.float64)
    if method == "exact":
        return sims
    la, lb = vocab.length[a], vocab.length[b]
    short, long = np.minimum(la, lb), np.maximum(la, lb)
    letters = (a != b) & ~vocab.digits[a] & ~vocab.digits[b]
    fuzzy = letters & (short >= MIN_FUZZY_LENGTH) & (long - short <= long // 3)
    abbreviation = letters & (short >= 3) & (short <= 7) & (long >= short + 2)
    todo = fuzzy | abbreviation
    if not todo.any():
        return sims
    size = len(vocab.weight)
    keys = a[todo] * size + b[todo]
    pairs, position = np.unique(keys, return_inverse=True)
    first_words, second_words = pairs // size, pairs % size
    values = np.zeros(len(pairs))
    pair_fuzzy = np.zeros(len(pairs), bool)
    pair_fuzzy[position] = fuzzy[todo]
    if pair_fuzzy.any():
        scorer: Any = {
            "jaro_winkler": distance.JaroWinkler.normalized_similarity,
            "levenshtein": distance.Levenshtein.normalized_similarity,
        }.get(method, fuzz.ratio)
        chosen = np.flatnonzero(pair_fuzzy)
        found = np.asarray(
            process.cpdist(
                vocab.words.take(pa.array(first_words[chosen])).to_pylist(),
                vocab.words.take(pa.array(second_words[chosen])).to_pylist(),
                scorer=scorer,
                dtype=np.float64,
            ),
            np.float64,
        )
        values[chosen] = found / 100.0 if scorer is fuzz.ratio else found
    # an abbreviation needs its lengths (as `abbreviation`) and the same first character: only those pairs
    # are looked at letter by letter
    pair_abbreviation = np.zeros(len(pairs), bool)
    pair_abbreviation[position] = abbreviation[todo]
    maybe = np.flatnonzero(
        pair_abbreviation
        & (values < THRESHOLD[method])
        & (vocab.first[first_words] == vocab.first[second_words])
    )
    if len(maybe):
        firsts = vocab.words.take(pa.array(first_words[maybe])).to_pylist()
        seconds = vocab.words.take(pa.array(second_words[maybe])).to_pylist()
        for k, first, second in zip(maybe.tolist(), firsts, seconds, strict=True):
            if _abbreviates(first, second):
                values[k] = ABBREVIATION
    sims[todo] = values[position.reshape(-1)]
    return sims


def _abbreviates(first: str, second: str) -> bool:
    short, long = (first, second) if len(first) < len(second) else (second, first)
    if len(short) < 3 or len(short) > 7 or len(long) < len(short) + 2 or short[0] != long[0]:
        return False
    rest = iter(long[1:])
    return all(char in rest for char in short[1:])


def weighted_similarity(
    vocab: Vocabulary, left: IntArray, right: IntArray, method: str
) -> tuple[FloatArray, FloatArray]:
    """Word agreement of record pairs (left[i], right[i]) weighted by the words' information, and the
    same with every word weighing 1 (see the module doc)."""
    weighted, plain = np.zeros(len(left)), np.zeros(len(left))
    if len(left) == 0:
        return weighted, plain
    cells = np.cumsum(np.diff(vocab.left.offsets)[left] * np.diff(vocab.right.offsets)[right])
    start = 0
    while start < len(left):
        budget = (cells[start - 1] if start else 0) + CHUNK_CELLS
        stop = max(start + 1, int(np.searchsorted(cells, budget, side="right")))
        weighted[start:stop], plain[start:stop] = _chunk(vocab, left[start:stop], right[start:stop], method)
        start = stop
    return weighted, plain


def adjusted(raw: FloatArray, weighted: FloatArray, plain: FloatArray) -> FloatArray:
    """The method's similarity scaled by how much the words' frequencies change the word agreement:
    agreement on common words (weighted < plain) pulls it down, on rare words (weighted > plain) up,
    by at most MAX_BOOST, and never above the weighted agreement itself (when that is below the method's
    similarity: no gain), so that one rare shared word cannot make texts whose other words conflict look
    equal ("GREENFIELD CONSULTING LLC" / "GREENFIELD PRINT SERVICES SARL" scored 1.0, as high as the true
    partner, and the wrong pair won on the description); texts without any agreeing word keep their
    similarity."""
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(plain > 0, np.minimum(weighted / plain, MAX_BOOST), 1.0)
    scaled = raw * factor
    gain = np.minimum(scaled, np.maximum(raw, weighted))
    result: FloatArray = np.clip(np.where(factor > 1.0, gain, scaled), 0.0, 1.0)
    return result


def _segment_max(values: FloatArray, lengths: IntArray, empty: float) -> FloatArray:
    """Maximum of consecutive segments of the given lengths (`empty` for a segment of length 0)."""
    result = np.full(len(lengths), empty)
    present = lengths > 0
    if present.any():
        starts = (np.cumsum(lengths) - lengths)[present]
        result[present] = np.maximum.reduceat(values, starts)
    return result


def _chunk(vocab: Vocabulary, left: IntArray, right: IntArray, method: str) -> tuple[FloatArray, FloatArray]:
    n = len(left)
    l_owner, l_ids = vocab.record_words("left", left)
    r_owner, r_ids = vocab.record_words("right", right)
    nl = np.bincount(l_owner, minlength=n)
    nr = np.bincount(r_owner, minlength=n)
    l_start, r_start = np.cumsum(nl) - nl, np.cumsum(nr) - nr
    base = np.cumsum(nl * nr) - nl * nr  # first cell of each record pair
    # Cells in row-major order per record pair: left word i against right word j at base + i * nr + j.
    row_len = nr[l_owner]
    cell_left = np.repeat(np.arange(len(l_ids), dtype=np.int64), row_len)
    j = np.arange(len(cell_left), dtype=np.int64) - np.repeat(np.cumsum(row_len) - row_len, row_len)
    cell_right = r_start[l_owner[cell_left]] + j
    a, b = l_ids[cell_left], r_ids[cell_right]
    sim = _word_similarity(vocab, a, b, method)
    agree = sim >= THRESHOLD[method] - 1e-12
    # Column-major walk for the right words: right word j of pair p owns cells base + j + nr * i.
    col_len = nl[r_owner]
    step = np.repeat(nr[r_owner], col_len)
    i = np.arange(int(col_len.sum()), dtype=np.int64) - np.repeat(np.cumsum(col_len) - col_len, col_len)
    local_j = np.arange(len(r_ids), dtype=np.int64) - r_start[r_owner]
    by_column = np.repeat(base[r_owner] + local_j, col_len) + step * i
    ones = np.ones(len(vocab.weight))
    words = {
        "a": a,
        "b": b,
        "sim": sim,
        "agree": agree,
        "n": n,
        "rows": (l_owner, l_ids, row_len),
        "columns": (r_owner, r_ids, col_len, by_column),
    }
    weighted = _agreement(vocab.weight, **words)
    plain = _agreement(ones, **words)
    del l_start
    return weighted, plain


def _agreement(
    weight: FloatArray,
    *,
    a: IntArray,
    b: IntArray,
    sim: FloatArray,
    agree: npt.NDArray[np.bool_],
    n: int,
    rows: tuple[IntArray, IntArray, IntArray],
    columns: tuple[IntArray, IntArray, IntArray, IntArray],
) -> FloatArray:
    shared = np.minimum(weight[a], weight[b])
    gain = np.where(agree, sim * shared, 0.0)
    mass = np.where(agree, shared, -1.0)
    agreement, loss, agreeing, agreeing_mass = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    lone_words = []
    l_owner, l_ids, row_len = rows
    r_owner, r_ids, col_len, by_column = columns
    for owner, ids, lengths, order in ((l_owner, l_ids, row_len, None), (r_owner, r_ids, col_len, by_column)):
        best_gain = _segment_max(gain if order is None else gain[order], lengths, 0.0)
        best_mass = _segment_max(mass if order is None else mass[order], lengths, -1.0)
        matched = best_mass >= 0
        agreement += np.bincount(owner, weights=best_gain, minlength=n) / 2
        loss += np.bincount(owner, weights=np.where(matched, best_mass - best_gain, 0.0), minlength=n) / 2
        agreeing += np.bincount(owner, weights=matched.astype(np.float64), minlength=n)
        agreeing_mass += np.bincount(owner, weights=np.where(matched, best_mass, 0.0), minlength=n)
        lone_words.append((owner[~matched], weight[ids[~matched]]))
    # A word only one text has weighs at most what an agreeing word does on average: a rare city appended
    # is no stronger evidence against a pair than a common word would be (rarity is evidence when words
    # agree), and the method's similarity of the whole texts has already seen the extra words.
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where(agreeing > 0, agreeing_mass / agreeing, np.inf)
    unmatched = [np.bincount(owner, weights=bits, minlength=n) for owner, bits in lone_words]
    capped = [
        np.bincount(owner, weights=np.minimum(bits, unit[owner]), minlength=n) for owner, bits in lone_words
    ]
    conflict = np.minimum(*unmatched)
    extra = np.abs(capped[0] - capped[1])
    total = agreement + loss + conflict + ONE_SIDED * extra
    with np.errstate(invalid="ignore", divide="ignore"):
        result: FloatArray = np.where(total > 0, agreement / total, 0.0)
    return result
