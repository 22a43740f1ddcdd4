"""Arrow normalizers agree with their SQL definitions (used by `rules check` and non-text columns)."""

from __future__ import annotations

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.engine import normalize, sql

TEXT = st.text(alphabet=st.sampled_from(list("aZ09 -_/.\u00e9\u00dc\u20ac\t0")), max_size=12)
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
