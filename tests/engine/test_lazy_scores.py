"""Score items are computed only where they can still decide (recon.engine.executor.Session.scores).

Texts are upper-case words: the default normalisation leaves them as they are."""

from __future__ import annotations

import random

import numpy as np
import pytest

from recon.engine import executor, reconcile

from .helpers import groups_of, name_memo_pass, rules_for, side

PASSES = name_memo_pass(name_weight=3, min_score=0.8, tf=False)


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every (left, right) text pair rapidfuzz compared in the engine."""
    seen: list[tuple[str, str]] = []
    original = executor.process.cpdist

    def spy(lefts, rights, **kwargs):  # type: ignore[no-untyped-def]
        seen.extend(zip(lefts, rights, strict=True))
        return original(lefts, rights, **kwargs)

    monkeypatch.setattr(executor.process, "cpdist", spy)
    return seen


def test_costly_item_skipped_for_pairs_that_cannot_reach_min_score(compared):
    # the cross pairs (ACME/ZED: jaro_winkler 0) reach at most (3 * 0 + 1) / 4 = 0.25 < 0.8, and both their
    # records have a pair above min_score: their memos are never compared
    left = side(["L1", "L2"], ["10.00", "10.00"], name=["ACME", "ZED"], memo=["RENT MARCH", "FEE X"])
    right = side(["R1", "R2"], ["10.00", "10.00"], name=["ACME", "ZED"], memo=["RENT MARCH", "FEE X"])
    result = reconcile(left, right, rules_for(PASSES))
    assert groups_of(result) == [
        ("near", "matched", ("L1",), ("R1",)),
        ("near", "matched", ("L2",), ("R2",)),
    ]
    assert sorted(compared) == [("FEE X", "FEE X"), ("RENT MARCH", "RENT MARCH")]


def test_pruned_pairs_are_scored_when_their_record_has_nothing_better(compared):
    # L1's only candidate cannot reach min_score: its best score is still reported exactly
    left = side(["L1"], ["10.00"], name=["ACME"], memo=["RENT MARCH"])
    right = side(["R1"], ["10.00"], name=["QQQQ"], memo=["RENT MARCH"])
    result = reconcile(left, right, rules_for(PASSES))
    assert result.matches.num_rows == 0
    detail = result.unmatched_left.column("detail").to_pylist()
    assert detail == ["best score 0.2500 < min_score 0.8 in pass 'near'"]  # (3 * 0 + 1 * 1) / 4
    assert compared == [("RENT MARCH", "RENT MARCH")]


@pytest.mark.parametrize("seed", range(6))
def test_same_results_as_scoring_every_pair(seed, monkeypatch):
    rng = random.Random(seed)
    names = ["ACME", "ACNE", "ZED", "ZEDS", "BOLT", "BOLTS", "QQ", None]
    memos = ["RENT", "RENT MARCH", "FEE", "FEE X", "OTHER TEXT", "MARCH RENT", None]
    amounts = ["1.00", "2.00", "3.00"]

    def make(prefix: str, n: int):  # type: ignore[no-untyped-def]
        return side(
            [f"{prefix}{i:02d}" for i in range(n)],
            [rng.choice(amounts) for _ in range(n)],
            name=[rng.choice(names) for _ in range(n)],
            memo=[rng.choice(memos) for _ in range(n)],
        )

    left, right = make("L", 30), make("R", 30)
    rules = rules_for(PASSES.replace("0.8", str(rng.choice([0.5, 0.7, 0.8, 0.9]))))
    monkeypatch.setattr(executor, "TEXT_CHUNK", 3)  # texts handed to rapidfuzz a few pairs at a time
    lazy = reconcile(left, right, rules)
    monkeypatch.setattr(executor, "LAZY_SCORES", False)
    monkeypatch.setattr(executor, "TEXT_CHUNK", 1 << 18)
    every = reconcile(left, right, rules)
    assert lazy.matches.equals(every.matches)
    assert lazy.unmatched_left.equals(every.unmatched_left)
    assert lazy.unmatched_right.equals(every.unmatched_right)
    assert np.isfinite(lazy.matches.column("score").to_numpy()).all()
