"""Writing results: the four files, byte-identical across runs, summary contract."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from recon.engine import ENGINE_VERSION, reconcile

from .helpers import exact_pass, near_pass, rules_for, side

RULES = (
    exact_pass()
    + near_pass("name", days=2, item_options=", normalize: [upper]")
    + """\
  - name: batch
    kind: many_to_one
    group_by: [name, date]
    match:
      - {left: date, right: date, op: within_days, days: 1}
    sum: {left: amount, right: amount, abs: 0.01}
"""
)


def sample():
    left = side(
        ["L1", "L2", "L3", "L4", "L5", "L6"],
        ["10.00", "20.00", "5.00", "6.00", "7.00", "1.23"],
        ["2024-02-01", "2024-02-02", "2024-02-03", "2024-02-03", "2024-02-04", "2024-02-05"],
        ref=["A-1", "B-2", None, None, None, None],
        name=["Acme", "Globex", "Initech", "Initech", 'Umbrella, "Inc"', "Hooli"],
    )
    right = side(
        ["R1", "R2", "R3", "R4", "R5"],
        ["10.00", "19.00", "11.00", "7.01", "99.00"],
        ["2024-02-01", "2024-02-02", "2024-02-03", "2024-02-05", "2024-02-05"],
        ref=["a1", "b 2", None, None, None],
        name=["ACME", "GLOBEX", "INITECH", "UMBRELLA INC", "Stark"],
    )
    return left, right


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_write_is_byte_identical_across_runs(tmp_path: Path, fmt: str):
    left, right = sample()
    rules = rules_for(RULES)
    outputs = []
    for run in ("one", "two"):
        result = reconcile(left, right, rules)
        result.write(tmp_path / run, fmt=fmt, extra_summary={"elapsed_s": 0.0})
        outputs.append({p.name: p.read_bytes() for p in sorted((tmp_path / run).iterdir())})
    assert set(outputs[0]) == {
        "summary.json",
        f"matches.{fmt}",
        f"unmatched_left.{fmt}",
        f"unmatched_right.{fmt}",
    }
    assert outputs[0] == outputs[1]
    if fmt == "parquet":
        matches = pq.read_table(tmp_path / "one" / "matches.parquet")
    else:
        matches = pacsv.read_csv(tmp_path / "one" / "matches.csv")
    assert matches.column_names == ["group_id", "pass", "status", "side", "id", "score", "explanation"]
    for text in matches.column("explanation").to_pylist():
        assert not text or isinstance(json.loads(text), dict)  # null (csv: empty) on non-first rows


def test_summary_contract(tmp_path: Path):
    left, right = sample()
    result = reconcile(left, right, rules_for(RULES))
    summary = result.summary
    assert summary["engine_version"] == ENGINE_VERSION
    assert summary["rules"]["name"] == "test" and len(summary["rules"]["sha256"]) == 64
    for name in ("left", "right"):
        figures = summary[name]
        keys = ("rows", "matched", "suggested", "break", "unmatched", "rejected")
        assert all(isinstance(figures[k], int) for k in keys)
        assert sum(figures[k] for k in keys[1:]) == figures["rows"]
        amounts = figures["amounts"]
        assert set(amounts) == {"total", "matched", "suggested", "break", "unmatched", "rejected"}
        from decimal import Decimal

        assert sum(Decimal(amounts[k]) for k in amounts if k != "total") == Decimal(amounts["total"])
    assert summary["left"]["amounts"]["total"] == "49.23"
    assert [p["name"] for p in summary["passes"]] == ["exact", "near", "batch"]
    assert summary["passes"][2]["left"] == 2 and summary["passes"][2]["right"] == 1
    assert summary["checks"] == {"exactly_once": True, "control_totals": True}
    assert set(summary["unmatched_reasons"]["left"]) == {
        "no_candidate",
        "below_min_score",
        "ambiguous",
        "duplicate",
        "rejected",
    }
    result.write(tmp_path, extra_summary={"inputs": {"left_sha256": "x"}, "elapsed_s": 1.5})
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["inputs"] == {"left_sha256": "x"} and written["elapsed_s"] == 1.5
    with pytest.raises(ValueError, match="unknown output format"):
        result.write(tmp_path, fmt="xlsx")


def test_explanations_built_in_chunks_are_the_same_texts(monkeypatch: pytest.MonkeyPatch):
    from recon.engine import explain

    left, right = sample()
    rules = rules_for(RULES)
    whole = reconcile(left, right, rules).matches
    monkeypatch.setattr(explain, "EXPLAIN_CHUNK", 1)  # every pair its own chunk
    chunked = reconcile(left, right, rules).matches
    assert chunked.column("explanation").to_pylist() == whole.column("explanation").to_pylist()
    assert chunked.equals(whole)
