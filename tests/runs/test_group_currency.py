"""A group's currency (recon.runs.outcome): the one its members share, members without a currency not
counting; null when they have none or several. Computed on dictionary codes (docs/adr/0035); checked here
against the definition, the min and max of the members' texts per group."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from recon.runs.outcome import _group_currency


def _by_definition(currency: list[str | None], member: list[bool], seq: list[int], count: int) -> list[Any]:
    members = [c for c, m in zip(currency, member, strict=True) if m]
    found: list[Any] = []
    for group in range(count):
        texts = {c for c, s in zip(members, seq, strict=True) if s == group and c is not None}
        found.append(texts.pop() if len(texts) == 1 else None)
    return found


def _currency(currency: list[str | None], member: list[bool], seq: list[int], count: int) -> list[Any]:
    items = pa.table({"currency": pa.array(currency, pa.string())})
    result = _group_currency(items, np.array(member, bool), np.array(seq, np.int64), count)
    return list(result.to_pylist())


def test_shared_none_and_several() -> None:
    currency = ["EUR", None, "USD", "EUR", None, None, "GBP", "GBP", "EUR", "CHF"]
    member = [True, True, True, True, True, True, True, False, True, False]
    seq = [0, 0, 1, 1, 2, 3, 3, 4]
    # 0: EUR and a member without one; 1: USD and EUR; 2: none; 3: none and GBP; 4: EUR (GBP, CHF: no group)
    assert _currency(currency, member, seq, 5) == ["EUR", None, None, "GBP", "EUR"]
    assert _currency(currency, member, seq, 5) == _by_definition(currency, member, seq, 5)


def test_no_groups() -> None:
    assert _currency(["EUR"], [False], [], 0) == []


@pytest.mark.parametrize("seed", range(5))
def test_random_groups_match_the_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, count = 400, 60
    choices = np.array(["EUR", "USD", "GBP", ""], object)
    currency = [None if c == "" else str(c) for c in rng.choice(choices, n, p=[0.6, 0.15, 0.1, 0.15])]
    member = list(rng.random(n) < 0.8)
    seq = list(rng.integers(0, count, int(sum(member))))
    assert _currency(currency, member, seq, count) == _by_definition(currency, member, seq, count)
    # a dictionary-encoded input gives the same
    items = pa.table({"currency": pc.dictionary_encode(pa.array(currency, pa.string()))})
    encoded = _group_currency(items, np.array(member, bool), np.array(seq, np.int64), count)
    assert encoded.to_pylist() == _by_definition(currency, member, seq, count)
