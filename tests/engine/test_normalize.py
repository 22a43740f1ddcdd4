"""Arrow normalizers agree with their SQL definitions (used by `rules check` and non-text columns)."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.engine import normalize, sql

TEXT = st.text(alphabet=st.sampled_from(list("aZ09 -_/.\u00e9\u00dc\u00df\u20ac\t0")), max_size=12)
STEPS = st.lists(st.sampled_from(sorted(sql.NORMALIZER_SQL)), max_size=3)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), TEXT), max_size=8), STEPS)
def test_arrow_and_sql_normalizers_agree(values, steps):
    array = pa.array(values, pa.string())
    arrow = normalize.apply(array, steps).to_pylist()
    expr = sql.normalized("v", sql.STRING, steps)
    con = duckdb.connect()
    con.register("t", pa.table({"i": list(range(len(values))), "v": array}))
    duck = [row[0] for row in con.execute(f"SELECT {expr} FROM t ORDER BY i").fetchall()]
    assert arrow == duck


def test_upper_writes_sharp_s_as_ss():
    """German upper-cases ß to SS (Python does too); Arrow and DuckDB would give the rare capital ẞ, so that
    "Müßig" and a bank's "MÜSSIG" differed under `normalize: [upper]`."""
    values = pa.array(["Müßig", "GROẞ", None])
    assert normalize.apply(values, ["upper"]).to_pylist() == ["MÜSSIG", "GROSS", None]


def test_digits_and_alnum_fast_paths():
    values = pa.array(["INV-2024/000123", "  ab c ", "", None, "ÜBER-1"])
    assert normalize.apply(values, ["digits"]).to_pylist() == ["2024000123", None, None, None, "1"]
    assert normalize.apply(values, ["alnum", "upper"]).to_pylist() == [
        "INV2024000123",
        "ABC",
        None,
        None,
        "ÜBER1",
    ]
    assert normalize.apply(pa.array(["007", "0", "000"]), ["strip_leading_zeros"]).to_pylist() == [
        "7",
        "0",
        "0",
    ]


@pytest.mark.parametrize(
    "steps",
    [
        ("digits",),
        ("alnum", "upper"),
        ("transliterate", "upper", "words"),
        ("trim", "collapse_spaces", "lower"),
        ("strip_leading_zeros",),
    ],
)
def test_normalizing_in_chunks_gives_the_same_column(monkeypatch: pytest.MonkeyPatch, steps):
    from recon.engine import executor

    texts = [
        "INV-2024-000123",
        None,
        "  Müßig  Straße 7 ",
        "",
        "ACME Trading GmbH",
        "Société Générale",
        "0007 ",
        "ŁÓDŹ sp. z o.o.",
        "plain ascii",
        "  ",
    ]
    values = pa.array(texts, pa.string())
    whole = normalize.apply(values, steps)
    monkeypatch.setattr(executor, "NORMALIZE_CHUNK", 3)  # chunks that start inside non-ASCII runs too
    chunked = executor.normalize_in_chunks(values, steps)
    assert chunked.to_pylist() == whole.to_pylist()
