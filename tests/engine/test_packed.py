"""Explanations kept compressed (recon.engine.packed): the same texts come back, slice by slice."""

from __future__ import annotations

import pyarrow as pa
import pytest

from recon.engine import packed
from recon.engine.packed import PackedTexts


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_texts_come_back_in_order_with_nulls(monkeypatch: pytest.MonkeyPatch, kind: pa.DataType) -> None:
    monkeypatch.setattr(packed, "SLICE", 3)
    values = pa.array(['{"a": 1}', None, "", "ünïcode", '{"b": [1, 2]}', None, "x" * 1000], kind)
    texts = PackedTexts(values.slice(1))  # a sliced array (non-zero offset) too
    parts = list(texts.slices())
    assert [len(part) for part in parts] == [3, 3]
    assert texts.unpack().to_pylist() == values.slice(1).to_pylist()
    assert texts.nbytes < values.nbytes


def test_empty_array() -> None:
    texts = PackedTexts(pa.array([], pa.string()))
    assert list(texts.slices()) == []
    assert texts.unpack().to_pylist() == []
