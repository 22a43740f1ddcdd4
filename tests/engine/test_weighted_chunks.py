"""The frequency adjustment of weighted items is computed WEIGHT_CHUNK candidate pairs at a time, in the
order of their text pairs (recon.engine.executor.Session.weighted): any chunk size gives the same results,
and a text pair is computed once unless a chunk's end cuts its run."""

from __future__ import annotations

import random

import pytest

from recon.engine import executor, frequency, reconcile

from .helpers import name_memo_pass, rules_for, side

PASSES = name_memo_pass(name_weight=2, min_score=0.5)


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("ABCDEFGHIKLMNOPRSTUVZ") for _ in range(rng.randint(3, 8)))


def _make(rng: random.Random, prefix: str, n: int, names: list[str], memos: list[str]):  # type: ignore[no-untyped-def]
    return side(
        [f"{prefix}{i:03d}" for i in range(n)],
        [f"{rng.randint(1, 40)}.00" for _ in range(n)],  # blocks of a few pairs
        name=[rng.choice(names) for _ in range(n)],
        memo=[rng.choice(memos) for _ in range(n)],
    )


@pytest.mark.parametrize("seed", range(4))
def test_any_chunk_size_gives_the_same_results(seed, monkeypatch):
    rng = random.Random(seed)
    companies = [f"{_word(rng)} {rng.choice(['GMBH', 'LTD', 'TRADING', 'SUPPLIES'])}" for _ in range(12)]
    # the same names in other spellings (case, a letter dropped), some missing: repeated text pairs
    names = companies + [c.lower() for c in companies] + [c[:-1] for c in companies] + [None]  # type: ignore[list-item]
    memos = [" ".join(_word(rng) for _ in range(rng.randint(1, 5))) for _ in range(15)] + ["PAYMENT", None]
    left, right = _make(rng, "L", 120, names, memos), _make(rng, "R", 120, names, memos)
    rules = rules_for(PASSES)
    whole = reconcile(left, right, rules)
    for chunk in (1, 2, 7, 64):
        monkeypatch.setattr(executor, "WEIGHT_CHUNK", chunk)
        chunked = reconcile(left, right, rules)
        assert chunked.matches.equals(whole.matches), chunk
        assert chunked.unmatched_left.equals(whole.unmatched_left), chunk
        assert chunked.unmatched_right.equals(whole.unmatched_right), chunk
    assert whole.matches.num_rows > 0


def test_each_text_pair_is_computed_once_per_run_of_equal_pairs(monkeypatch):
    # 100 amounts, 4 records a side each: 1,600 candidates of 2 names a side (4 text pairs); chunks of 7
    # pairs in text-pair order cut at most one run each, so the name item computes few pairs per chunk
    names = ["ACME TRADING GMBH", "ZED SUPPLIES LTD"]
    n = 400
    amounts = [f"{i // 4 + 1}.00" for i in range(n)]
    seq = [str(i) for i in range(n)]  # no two records alike (duplicates are set aside)
    left = side([f"L{i:03d}" for i in range(n)], amounts, name=[names[i % 2] for i in range(n)], seq=seq)
    right = side(
        [f"R{i:03d}" for i in range(n)], amounts, name=[names[i // 2 % 2] for i in range(n)], seq=seq
    )
    passes = """\
  - name: near
    kind: one_to_one
    match:
      - {left: amount, right: amount, op: equals}
    score:
      - {left: name, right: name, method: jaro_winkler, weight: 1}
"""
    computed: list[int] = []
    original = frequency.weighted_similarity

    def spy(vocab, lefts, rights, method):  # type: ignore[no-untyped-def]
        computed.append(len(lefts))
        return original(vocab, lefts, rights, method)

    monkeypatch.setattr(frequency, "weighted_similarity", spy)
    monkeypatch.setattr(executor, "WEIGHT_CHUNK", 7)
    result = reconcile(left, right, rules_for(passes))
    chunks = -(-1600 // 7)
    assert len(computed) == chunks
    assert sum(computed) <= 4 + chunks  # each chunk: its distinct text pairs (a cut run counts twice)
    assert result.matches.num_rows == 2 * n  # every record paired with one of its name
