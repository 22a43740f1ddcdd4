"""The word tables of token and `contains` blocking (frequency.record_words): codes of one pooled dictionary,
read chunk by chunk, against a plain reading of the texts word by word."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.engine import frequency

WORDS = st.sampled_from(["ACME", "GMBH", "INV", "2024", "0042", "SA", "Ö", "PAYMENT", "A.B", "X-Y"])
TEXTS = st.lists(st.one_of(st.none(), st.lists(WORDS, max_size=6).map(" ".join)), max_size=12)


def _words(text: str | None, column: list[str | None]) -> set[str]:
    """A text's distinct words as the blocking reads them: in a column with other than letters, digits and
    spaces, dots vanish, other punctuation separates and an empty text has none; otherwise the text is
    split as it is (an empty text is one empty word, as Arrow splits it)."""
    if text is None:
        return set()
    if any(t is not None and ("." in t or "-" in t) for t in column):
        return set(text.replace(".", "").replace("-", " ").split())
    return set(text.split(" "))


def _decoded(found: frequency.RecordWords, side: int) -> set[tuple[int, str]]:
    words = found.dictionary.to_pylist()
    return {(int(rid), words[code]) for rid, code in zip(found.rids[side], found.codes[side], strict=True)}


@settings(max_examples=150, deadline=None)
@given(left=TEXTS, right=TEXTS, chunk=st.sampled_from([1, 2, 5, 1 << 18]))
def test_record_words_are_each_records_distinct_words(
    left: list[str | None], right: list[str | None], chunk: int
) -> None:
    found = frequency.record_words(pa.array(left, pa.string()), pa.array(right, pa.string()), chunk)
    for side, texts in enumerate((left, right)):
        expected = {(rid, word) for rid, text in enumerate(texts) for word in _words(text, texts)}
        assert _decoded(found, side) == expected
        assert len(found.codes[side]) == len(expected)  # distinct per record
    assert len(set(found.dictionary.to_pylist())) == len(found.dictionary)  # one code per word


@settings(max_examples=150, deadline=None)
@given(left=TEXTS, right=TEXTS, chunk=st.sampled_from([1, 3, 1 << 18]), side=st.sampled_from([0, 1]))
def test_rarest_word_is_the_least_shared_then_the_lowest(
    left: list[str | None],
    right: list[str | None],
    chunk: int,
    side: int,
) -> None:
    found = frequency.record_words(pa.array(left, pa.string()), pa.array(right, pa.string()), chunk)
    words_of = [[_words(text, texts) for text in texts] for texts in (left, right)]
    records_with: dict[str, int] = {}
    for words in words_of[0] + words_of[1]:
        for word in words:
            records_with[word] = records_with.get(word, 0) + 1
    expected = {
        (rid, min(words, key=lambda word: (records_with[word], word.encode())))
        for rid, words in enumerate(words_of[side])
        if words
    }
    rids, codes = found.rarest(side)
    dictionary = found.dictionary.to_pylist()
    assert {(int(rid), dictionary[code]) for rid, code in zip(rids, codes, strict=True)} == expected
    assert len(rids) == len(expected)
