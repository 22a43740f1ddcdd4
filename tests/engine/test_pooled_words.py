"""A pass's word weights counted elsewhere (the Spark backend: its words in first-appearance order, per
word the records having it) give the driver's vocabulary, and pairs of texts weighed under it
(frequency.weigh_texts) and their word-weight texts (explain.pooled_word_texts) are bit for bit what the
driver computes from every record's words (build_vocabulary, weighted_similarity, word_weights)."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest

from recon.engine import explain, frequency, normalize

WORDS = ["ACME", "Acme", "GMBH", "gmbh", "Zürich", "Käse", "TRADING", "TRADNG", "INTL", "INTERNATIONAL",
         "A", "co", "2024", "INV-001", "rent", "ß", "Straße", "O'NEIL", "x", "SUPPLIES", "SUPPL"]  # fmt: skip


def _texts(rng: random.Random, n: int) -> list[str | None]:
    texts: list[str | None] = []
    for _ in range(n):
        if rng.random() < 0.1:
            texts.append(rng.choice([None, "", " - "]))
            continue
        words = [rng.choice(WORDS) for _ in range(rng.randint(1, 9))]  # beyond MAX_WORDS, repeats
        texts.append(rng.choice([" ", ", ", "  ", "/"]).join(words))
    return texts


def _first_appearance(columns: list[pa.Array]) -> list[str]:
    """Words in order of first appearance: left records in order, then right, each in text order."""
    seen: dict[str, None] = {}
    for column in columns:
        for words in frequency.split_words(column).to_pylist():
            for word in words or []:
                seen.setdefault(word, None)
    return list(seen)


def _counted(columns: list[pa.Array]) -> tuple[list[str], np.ndarray, int]:
    """What the Spark aggregation counts: words in first-appearance order, records having each, records
    having any."""
    order = _first_appearance(columns)
    have = {word: 0 for word in order}
    records = 0
    for column in columns:
        for words in frequency.split_words(column).to_pylist():
            if words:
                records += 1
            for word in set(words or []):
                have[word] += 1
    return order, np.array([have[word] for word in order], np.int64), records


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("normalizers", [("upper",), ("upper", "transliterate"), ()])
def test_pooled_vocabulary_weighs_and_explains_as_the_driver(seed, normalizers):
    rng = random.Random(seed)
    raw = [pa.array(_texts(rng, 60), pa.string()), pa.array(_texts(rng, 50), pa.string())]
    texts = [normalize.apply(column, normalizers) for column in raw]
    records = (np.sort(rng.sample(range(60), 45)), np.sort(rng.sample(range(50), 40)))
    driver = frequency.build_vocabulary(texts[0], texts[1], records)
    open_texts = [column.take(pa.array(rids)) for column, rids in zip(texts, records, strict=True)]
    words, doc_freq, counted = _counted(open_texts)
    assert driver.words.to_pylist() == words  # the word ids: first appearance
    pooled = frequency.pooled_vocabulary(pa.array(words), frequency.word_weight(doc_freq, counted), counted)
    assert pooled.weight.tolist() == driver.weight.tolist()
    assert counted == driver.records

    left = rng.choices(records[0].tolist(), k=300)
    right = rng.choices(records[1].tolist(), k=300)
    lefts, rights = texts[0].take(pa.array(left)), texts[1].take(pa.array(right))
    for method in ("jaro_winkler", "levenshtein", "token_set", "exact"):
        expected = frequency.weighted_similarity(driver, np.array(left), np.array(right), method)
        for index in (None, frequency.word_index(pooled)):
            found = frequency.weigh_texts(pooled, lefts, rights, method, index)
            assert found[0].tolist() == expected[0].tolist(), method
            assert found[1].tolist() == expected[1].tolist(), method

    def value(side: str, column: str) -> pa.Array:
        assert column == "name"
        return raw[0].take(pa.array(left)) if side == "left" else raw[1].take(pa.array(right))

    made = explain.pooled_word_texts(explain.PooledWords("name", "name", normalizers, pooled), value)
    assert made[0].to_pylist() == explain.word_weights(driver, "left", np.array(left)).to_pylist()
    assert made[1].to_pylist() == explain.word_weights(driver, "right", np.array(right)).to_pylist()


def test_no_pairs_and_unknown_words():
    pooled = frequency.pooled_vocabulary(pa.array(["ACME"]), np.array([1.5]), 3)
    empty = pa.array([], pa.string())
    assert [v.tolist() for v in frequency.weigh_texts(pooled, empty, empty, "jaro_winkler")] == [[], []]
    words = frequency.texts_words(pooled, pa.array(["ACME OTHER", None, "OTHER"]))
    assert words.offsets.tolist() == [0, 1, 1, 1] and words.ids.tolist() == [0]
