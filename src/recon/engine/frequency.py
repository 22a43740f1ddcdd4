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
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import distance, fuzz, process

from recon.engine import normalize
from recon.engine.arrays import FloatArray, Int32Array, IntArray

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
    letters: npt.NDArray[np.uint32]  # per ASCII word: bit (c % 32) set for each character c it has; else 0
    ascii: npt.NDArray[np.bool_]  # per word: only ASCII characters

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


_NONE = np.zeros(0, np.int32)
WORD_CHUNK = 1 << 18  # records split into words at once (their word strings are the transient memory)


@dataclass(frozen=True)
class RecordWords:
    """The distinct words of each record of both sides as codes into one pooled dictionary (equal words,
    equal codes on both sides): side s's record rids[s][i] has the word dictionary[codes[s][i]]."""

    rids: tuple[Int32Array, Int32Array]
    codes: tuple[Int32Array, Int32Array]
    dictionary: pa.Array

    def rarest(self, side: int) -> tuple[Int32Array, Int32Array]:
        """(rid, code) of each record's word on one side that the fewest records of both sides have
        (ties: the lower word in string order)."""
        rids, codes = self.rids[side], self.codes[side]
        records_with = np.bincount(self.codes[0], minlength=len(self.dictionary))
        records_with += np.bincount(self.codes[1], minlength=len(self.dictionary))  # no joined copy
        rank = np.empty(len(self.dictionary), np.int64)
        rank[np.asarray(pc.sort_indices(self.dictionary).to_numpy(), np.int64)] = np.arange(len(rank))
        order = np.lexsort((rank[codes], records_with[codes], rids))
        first = order[np.r_[True, rids[order][1:] != rids[order][:-1]]] if len(order) else order
        return rids[first], codes[first]


def record_words(left: pa.Array, right: pa.Array, chunk: int = WORD_CHUNK) -> RecordWords:
    """The distinct words (separators: not a letter or digit) of each value of two text columns, as codes.

    `chunk` records at a time: each chunk's words are dictionary-encoded and deduplicated per record
    while its strings live, then the chunk dictionaries are encoded once more into the pooled one. Only
    the distinct words of a chunk outlive it, not the ~11 words per record a long description has."""
    parts: list[tuple[int, Int32Array, Int32Array]] = []  # (side, rid, code into its chunk's dictionary)
    dictionaries: list[pa.Array] = []
    for side, text in enumerate((left, right)):
        plain = normalize.only_words(text)  # decided for the whole column, as split_words does
        for start in range(0, len(text), chunk):
            part = text.slice(start, chunk)
            lists = pc.utf8_split_whitespace(part if plain else normalize.apply(part, ("words",)))
            lengths = np.asarray(
                pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False), np.int64
            )
            encoded = pc.dictionary_encode(lists.flatten())
            size = max(len(encoded.dictionary), 1)
            owner = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
            keys = np.sort(
                owner * size + np.asarray(encoded.indices.to_numpy(zero_copy_only=False), np.int64)
            )
            keys = keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys
            # int32: a record index and a chunk's word number fit (at most MAX_ROWS records, WORD_CHUNK
            # records' words), and the tables are ~11 words a record of long descriptions on one side
            rid, local = (start + keys // size).astype(np.int32), (keys % size).astype(np.int32)
            del keys
            parts.append((side, rid, local))
            dictionaries.append(encoded.dictionary)
    pooled = pc.dictionary_encode(pa.concat_arrays(dictionaries)) if dictionaries else None
    mapping = (
        np.asarray(pooled.indices.to_numpy(zero_copy_only=False), np.int32) if pooled is not None else None
    )
    rids: list[list[Int32Array]] = [[], []]
    codes: list[list[Int32Array]] = [[], []]
    cursor = 0
    for at, dictionary in enumerate(dictionaries):
        assert mapping is not None
        side, rid, local = parts[at]
        parts[at] = (side, rid, _NONE)  # each chunk's local numbers go as soon as they are pooled
        rids[side].append(rid)
        codes[side].append(mapping[cursor : cursor + len(dictionary)][local])
        del local
        cursor += len(dictionary)
    del parts
    empty = np.zeros(0, np.int32)
    return RecordWords(
        (_joined(rids[0], empty), _joined(rids[1], empty)),
        (_joined(codes[0], empty), _joined(codes[1], empty)),
        pooled.dictionary if pooled is not None else pa.array([], pa.string()),
    )


def _joined(pieces: list[Int32Array], empty: Int32Array) -> Int32Array:
    """The pieces as one array, the list emptied (the pieces go as soon as the whole is made)."""
    whole = np.concatenate(pieces or [empty])
    pieces.clear()
    return whole


def split_words(text: pa.Array) -> pa.ListArray:
    """Words of normalized text (separators: anything but letters and digits), in text order."""
    if normalize.only_words(text):
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
    lists = [split_words(column) for column in columns]
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
    weight = word_weight(doc_freq, n_records)  # > 0: a word in every record still counts a little
    top = [_top_words(words, weight) for words in sides]
    if records is not None:
        top = [
            _spread(words, rids, len(column))
            for words, rids, column in zip(top, records, (left, right), strict=True)
        ]
    return _vocabulary(encoded.dictionary, weight, n_records, (top[0], top[1]))


def _vocabulary(words: pa.Array, weight: FloatArray, records: int, owners: tuple[Words, Words]) -> Vocabulary:
    """A Vocabulary of these pooled words (in word id order) and weights, the records' words `owners`."""
    digits = np.asarray(pc.match_substring_regex(words, "[0-9]").to_numpy(zero_copy_only=False), bool)
    length = np.asarray(pc.utf8_length(words).to_numpy(zero_copy_only=False), np.int64)
    initial = pc.dictionary_encode(pc.utf8_slice_codeunits(words, 0, 1)).indices
    first = np.asarray(initial.to_numpy(zero_copy_only=False), np.int64)
    letters, ascii_only = _letter_masks(words)
    return Vocabulary(
        words, weight, digits, length, owners[0], owners[1], records, first, letters, ascii_only
    )


NO_WORDS = Words(np.zeros(1, np.int64), np.zeros(0, np.int64))


def word_weight(doc_freq: IntArray, records: int) -> FloatArray:
    """build_vocabulary's weights of words that `doc_freq` of `records` records have."""
    return np.log2((records + 1) / np.maximum(doc_freq, 1))


def pooled_vocabulary(words: pa.Array, weight: FloatArray, records: int) -> Vocabulary:
    """The vocabulary build_vocabulary makes of the same records, from its pooled words counted elsewhere
    (recon.engine.spark.weights): `words` in build_vocabulary's word id order (first appearance: left
    records in rid order, then right ones, each record's words in text order), their weights
    (word_weight), `records` those with any word. No record owns words: texts_words gives a batch's."""
    return _vocabulary(words.cast(pa.string()), weight, records, (NO_WORDS, NO_WORDS))


def texts_words(vocab: Vocabulary, texts: pa.Array, index: dict[str, int] | None = None) -> Words:
    """The words each of these normalised texts owns in `vocab`, as build_vocabulary gives a record's
    (distinct word ids, ascending, at most MAX_WORDS of the highest weights): pairs of texts are then
    weighed (with_words, weighted_similarity) and explained without every record's words at hand. A
    word the vocabulary lacks (the text of a record it did not count) is left out. `index`: word_index
    of the vocabulary, kept by a caller that looks up many batches (else the words are hashed per call)."""
    lists = split_words(texts)
    lengths = np.asarray(
        pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False), np.int64
    )
    flat = lists.flatten()
    if index is None:
        found = pc.fill_null(pc.index_in(flat, value_set=vocab.words), -1).to_numpy(zero_copy_only=False)
    else:
        found = [index.get(word, -1) for word in flat.to_pylist()]
    ids = np.asarray(found, np.int64)
    owner = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    known = ids >= 0
    size = max(len(vocab.words), 1)
    unique = np.sort(owner[known] * size + ids[known])
    unique = unique[np.r_[True, unique[1:] != unique[:-1]]] if len(unique) else unique
    counts = np.bincount(unique // size, minlength=len(lengths))
    words = Words(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), unique % size)
    return _top_words(words, vocab.weight)


def word_index(vocab: Vocabulary) -> dict[str, int]:
    """Word -> word id of a vocabulary (for texts_words)."""
    return {word: at for at, word in enumerate(vocab.words.to_pylist())}


def with_words(vocab: Vocabulary, left: Words, right: Words) -> Vocabulary:
    """The vocabulary with these records' words (texts_words) as its left and right sides."""
    return replace(vocab, left=left, right=right)


def _letter_masks(words: pa.Array) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.bool_]]:
    """Per word: bit (byte % 32) set for each of its bytes (0 when any byte is not ASCII), and whether all
    of its bytes are ASCII (see _may_agree)."""
    words = words.cast(pa.large_string())
    offsets = np.frombuffer(words.buffers()[1], np.int64, count=len(words) + 1, offset=words.offset * 8)
    data_buffer = words.buffers()[2]
    data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    data = data[offsets[0] : offsets[-1]]
    starts = offsets[:-1] - offsets[0]
    lengths = np.diff(offsets)
    bits = np.left_shift(np.uint32(1), (data & 31).astype(np.uint32))
    letters = np.zeros(len(words), np.uint32)
    present = lengths > 0
    if present.any():
        letters[present] = np.bitwise_or.reduceat(bits, starts[present])
    high = np.zeros(len(words), np.int64)
    if present.any():
        high[present] = np.add.reduceat((data >= 0x80).astype(np.int64), starts[present])
    ascii_only = high == 0
    letters[~ascii_only] = 0
    return letters, ascii_only


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
        # counted where the pass tables are (Backend.word_vocabulary): no record's words on the driver
        self._pooled: dict[tuple[str, str, tuple[str, ...]], Vocabulary] = {}
        self._lock = threading.Lock()

    def known(self, key: tuple[str, str, tuple[str, ...]]) -> Vocabulary | None:
        """The vocabulary when it is built already."""
        with self._lock:
            return self._built.get(key)

    def pooled(self, key: tuple[str, str, tuple[str, ...]]) -> Vocabulary | None:
        """The pooled vocabulary (pooled_vocabulary) counted for this pass, when it is."""
        with self._lock:
            return self._pooled.get(key)

    def pool(self, key: tuple[str, str, tuple[str, ...]], vocabulary: Vocabulary) -> Vocabulary:
        """Keep a pooled vocabulary counted for this pass (the first one kept wins: the same words)."""
        with self._lock:
            return self._pooled.setdefault(key, vocabulary)

    def get(self, key: tuple[str, str, tuple[str, ...]], left: pa.Array, right: pa.Array) -> Vocabulary:
        with self._lock:
            if key not in self._built:
                self._built[key] = build_vocabulary(left, right, self.records)
            return self._built[key]


def _word_similarity(vocab: Vocabulary, a: IntArray, b: IntArray, method: str) -> FloatArray:
    """Character similarity of word pairs (a[i], b[i]) in [0, 1]; 0 where they may not be fuzzy.

    Besides the method's similarity, an abbreviation agrees at ABBREVIATION: a short word whose letters
    appear in order in a longer word with the same first letter (INTL ~ INTERNATIONAL, TRDG ~ TRADING,
    CONSTR ~ CONSTRUCTION).

    Only agreement (a similarity of at least THRESHOLD[method]) counts, so a pair that cannot reach it is
    0 without being compared: the characters one word has and the other lacks bound its similarity from
    above (see _may_agree). On the dense demo 97% of the fuzzy-eligible word pairs are ruled out that way,
    the same ones as by comparing them."""
    sims: FloatArray = np.asarray(a == b, dtype=np.float64)
    if method == "exact":
        return sims
    # a and b may broadcast (a chunk's left words against its right words): word attributes are looked up
    # before they do
    la, lb = vocab.length[a], vocab.length[b]
    short, long = np.minimum(la, lb), np.maximum(la, lb)
    # a word id below 0 is a chunk's padding (see _chunk): never compared
    letters = (a != b) & (~vocab.digits[a] & (a >= 0)) & (~vocab.digits[b] & (b >= 0))
    a, b = np.broadcast_arrays(a, b)
    fuzzy = letters & (short >= MIN_FUZZY_LENGTH) & (long - short <= long // 3)
    fuzzy[fuzzy] = _may_agree(vocab, a[fuzzy], b[fuzzy], method)
    # an abbreviation needs its lengths, the same first character and every character of the short word
    # in the long one: only those pairs are looked at letter by letter
    abbreviation = letters & (short >= 3) & (short <= 7) & (long >= short + 2)
    rows = np.nonzero(abbreviation)
    ra, rb = a[rows], b[rows]
    masks = vocab.letters[ra], vocab.letters[rb]
    missing = np.where(vocab.length[ra] < vocab.length[rb], masks[0] & ~masks[1], masks[1] & ~masks[0])
    unbounded = ~vocab.ascii[ra] | ~vocab.ascii[rb]  # no letter masks: looked at letter by letter
    abbreviation[rows] = ((missing == 0) | unbounded) & (vocab.first[ra] == vocab.first[rb])
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
    pair_abbreviation = np.zeros(len(pairs), bool)
    pair_abbreviation[position] = abbreviation[todo]
    maybe = np.flatnonzero(pair_abbreviation & (values < THRESHOLD[method]))
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


def _may_agree(vocab: Vocabulary, a: IntArray, b: IntArray, method: str) -> npt.NDArray[np.bool_]:
    """False where the similarity of words a[i] and b[i] is certainly below THRESHOLD[method].

    A character one word has and the other lacks costs an edit: with da / db the number of distinct
    letter buckets (Vocabulary.letters) only a / only b has, the Indel distance is at least da + db, the
    Levenshtein distance at least max(da, db), and at most min(la - da, lb - db) characters match for Jaro
    (Jaro-Winkler adds at most 0.4 of the rest). Words with other than ASCII characters are not bounded."""
    la, lb = vocab.length[a].astype(np.float64), vocab.length[b].astype(np.float64)
    ma, mb = vocab.letters[a], vocab.letters[b]
    da = np.bitwise_count(ma & ~mb).astype(np.float64)
    db = np.bitwise_count(mb & ~ma).astype(np.float64)
    if method == "levenshtein":
        bound = 1.0 - np.maximum(da, db) / np.maximum(la, lb)
    elif method == "jaro_winkler":
        matches = np.minimum(la - da, lb - db)
        bound = 0.6 * (matches / la + matches / lb + 1.0) / 3.0 + 0.4
    else:  # fuzz.ratio: 1 - Indel distance / (la + lb)
        bound = 1.0 - (da + db) / (la + lb)
    plain = vocab.ascii[a] & vocab.ascii[b]
    result: npt.NDArray[np.bool_] = ~plain | (bound >= THRESHOLD[method] - 1e-9)
    return result


def weighted_similarity(
    vocab: Vocabulary, left: IntArray, right: IntArray, method: str
) -> tuple[FloatArray, FloatArray]:
    """Word agreement of record pairs (left[i], right[i]) weighted by the words' information, and the
    same with every word weighing 1 (see the module doc)."""
    weighted, plain = np.zeros(len(left)), np.zeros(len(left))
    if len(left) == 0:
        return weighted, plain
    # Pairs of one shape (words left x words right) at a time: a chunk's matrices are as wide as its
    # widest record, so a chunk of one-word names with one six-word name would hold 36 cells a pair.
    n_left, n_right = np.diff(vocab.left.offsets)[left], np.diff(vocab.right.offsets)[right]
    shape = n_left * (int(n_right.max()) + 1) + n_right
    order = np.argsort(shape, kind="stable")
    bounds = np.flatnonzero(np.r_[True, shape[order][1:] != shape[order][:-1], True])
    for begin, end in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        cells = max(int(n_left[order[begin]] * n_right[order[begin]]), 1)
        step = max(CHUNK_CELLS // cells, 1)
        for start in range(begin, end, step):
            rows = order[start : min(start + step, end)]
            weighted[rows], plain[rows] = _chunk(vocab, left[rows], right[rows], method)
    return weighted, plain


def adjusted(raw: FloatArray, weighted: FloatArray, plain: FloatArray) -> FloatArray:
    """The method's similarity scaled by how much the words' frequencies change the word agreement:
    agreement on common words (weighted < plain) pulls it down, on rare words (weighted > plain) up,
    by at most MAX_BOOST, and never above the weighted agreement itself (when that is below the method's
    similarity: no gain), so that one rare shared word cannot make texts whose other words conflict look
    equal ("GREENFIELD CONSULTING LLC" / "GREENFIELD PRINT SERVICES SARL" scored 1.0, as high as the true
    partner, and the wrong pair won on the description); texts without any agreeing word keep their
    similarity."""
    # in place on two buffers: the dense near pass adjusts 2.7M pairs (22 MB an array)
    factor = np.divide(weighted, plain, out=np.ones_like(weighted), where=plain > 0)
    np.minimum(factor, MAX_BOOST, out=factor)
    result: FloatArray = raw * factor
    gain = np.maximum(raw, weighted)
    np.minimum(result, gain, out=gain)
    np.copyto(result, gain, where=factor > 1.0)
    return np.clip(result, 0.0, 1.0, out=result)


def _padded(words: Words, rids: IntArray) -> IntArray:
    """The word ids of the given records as rows of a matrix, in their stored order, padded with -1."""
    start = words.offsets[rids]
    counts = words.offsets[rids + 1] - start
    width = int(counts.max(initial=0))
    column = np.arange(width, dtype=np.int64)
    present = column < counts[:, None]
    if len(words.ids) == 0:
        return np.full((len(rids), width), -1, np.int64)
    position = np.minimum(start[:, None] + column, len(words.ids) - 1)
    return np.where(present, words.ids[position], -1)


def _running_sum(values: FloatArray) -> FloatArray:
    """Sum over the last axis, element after element from 0 (the order np.bincount adds a record's words
    in: the same floating-point result as the per-word sums this replaced)."""
    total = np.zeros(values.shape[:-1])
    for k in range(values.shape[-1]):
        total += values[..., k]
    return total


def _running_max(values: FloatArray, axis: int, empty: float) -> FloatArray:
    """Maximum over axis 1 or 2 of a 3-d array, one slice at a time (`empty` when that axis is empty):
    faster than a reduction over an axis of at most MAX_WORDS."""
    shape = tuple(size for k, size in enumerate(values.shape) if k != axis)
    result = np.full(shape, empty)
    for k in range(values.shape[axis]):
        np.maximum(result, values[:, k] if axis == 1 else values[:, :, k], out=result)
    return result


def _chunk(vocab: Vocabulary, left: IntArray, right: IntArray, method: str) -> tuple[FloatArray, FloatArray]:
    """Word agreement of a chunk of record pairs, on matrices: pair p's left words are row p of `lw` and
    its right words row p of `rw` (at most MAX_WORDS each, padded with -1), so the cells of pair p are
    lw[p, i] x rw[p, j] and each word's best partner is a maximum over one axis."""
    lw = _padded(vocab.left, left)
    rw = _padded(vocab.right, right)
    l_valid, r_valid = lw >= 0, rw >= 0
    valid = l_valid[:, :, None] & r_valid[:, None, :]
    # padding (-1) takes the last word's attributes: its cells are masked out below
    sim = _word_similarity(vocab, lw[:, :, None], rw[:, None, :], method)
    sim[~valid] = 0.0
    agree = valid & (sim >= THRESHOLD[method] - 1e-12)
    weighted = _agreement(vocab.weight, sim, agree, (lw, l_valid), (rw, r_valid))
    plain = _agreement(np.ones(len(vocab.weight)), sim, agree, (lw, l_valid), (rw, r_valid))
    return weighted, plain


def _agreement(
    weight: FloatArray,
    sim: FloatArray,
    agree: npt.NDArray[np.bool_],
    lefts: tuple[IntArray, npt.NDArray[np.bool_]],
    rights: tuple[IntArray, npt.NDArray[np.bool_]],
) -> FloatArray:
    """Weighted agreement of each pair (see the module doc) from its cells' word similarities; `lefts`
    and `rights`: the padded word ids of each pair's two records and where they are words."""
    (lw, l_valid), (rw, r_valid) = lefts, rights
    n = len(lw)
    bits_l = np.where(l_valid, weight[np.maximum(lw, 0)], 0.0)
    bits_r = np.where(r_valid, weight[np.maximum(rw, 0)], 0.0)
    shared = np.minimum(bits_l[:, :, None], bits_r[:, None, :])
    gain = np.where(agree, sim * shared, 0.0)
    mass = np.where(agree, shared, -1.0)
    agreement, loss, agreeing, agreeing_mass = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    lone_words = []
    # each left word's best right word (a maximum over the row), then each right word's best left word
    for axis, present, bits in ((2, l_valid, bits_l), (1, r_valid, bits_r)):
        best_gain, best_mass = _running_max(gain, axis, 0.0), _running_max(mass, axis, -1.0)
        matched = present & (best_mass >= 0)
        agreement += _running_sum(best_gain) / 2
        loss += _running_sum(np.where(matched, best_mass - best_gain, 0.0)) / 2
        agreeing += _running_sum(matched.astype(np.float64))
        agreeing_mass += _running_sum(np.where(matched, best_mass, 0.0))
        lone_words.append((present & ~matched, bits))
    # A word only one text has weighs at most what an agreeing word does on average: a rare city appended
    # is no stronger evidence against a pair than a common word would be (rarity is evidence when words
    # agree), and the method's similarity of the whole texts has already seen the extra words.
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where(agreeing > 0, agreeing_mass / agreeing, np.inf)
    unmatched = [_running_sum(np.where(lone, bits, 0.0)) for lone, bits in lone_words]
    capped = [_running_sum(np.where(lone, np.minimum(bits, unit[:, None]), 0.0)) for lone, bits in lone_words]
    conflict = np.minimum(*unmatched)
    extra = np.abs(capped[0] - capped[1])
    total = agreement + loss + conflict + ONE_SIDED * extra
    with np.errstate(invalid="ignore", divide="ignore"):
        result: FloatArray = np.where(total > 0, agreement / total, 0.0)
    return result


def weigh_texts(
    vocab: Vocabulary, lefts: pa.Array, rights: pa.Array, method: str, index: dict[str, int] | None = None
) -> tuple[FloatArray, FloatArray]:
    """weighted_similarity of pairs of normalised texts (lefts[i], rights[i]) under a pooled vocabulary
    (pooled_vocabulary): what it gives for the records that have these texts, each distinct pair of
    texts computed once. `index`: the vocabulary's word_index (see texts_words)."""
    if len(lefts) == 0:
        return np.zeros(0), np.zeros(0)
    left_codes, left_texts = _distinct(lefts)
    right_codes, right_texts = _distinct(rights)
    pairs, first, inverse = np.unique(
        left_codes * (len(right_texts) + 1) + right_codes, return_index=True, return_inverse=True
    )
    del pairs
    owners = texts_words(vocab, left_texts, index), texts_words(vocab, right_texts, index)
    weighted, plain = weighted_similarity(
        with_words(vocab, *owners), left_codes[first], right_codes[first], method
    )
    return weighted[inverse.reshape(-1)], plain[inverse.reshape(-1)]


def _distinct(texts: pa.Array) -> tuple[IntArray, pa.Array]:
    """(per text a code, the distinct texts by code: a missing text is one of them, as null)."""
    encoded = pc.dictionary_encode(texts, null_encoding="encode")
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), np.int64)
    return codes, encoded.dictionary
