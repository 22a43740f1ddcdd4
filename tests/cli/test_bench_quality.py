"""The benchmark's quality figures (precision, recall, many-to-one groups found) on a hand-made case."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "engine_bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("engine_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


TRUTH = """group,kind,side,id
1,exact,left,L1
1,exact,right,B1
2,near,left,L2
2,near,right,B2
3,break,left,L3
3,break,right,B3
4,many_to_one,left,L4
4,many_to_one,left,L5
4,many_to_one,right,B4
5,many_to_one,left,L6
5,many_to_one,left,L7
5,many_to_one,right,B5
6,unmatched,left,L8
"""

# Ours: L1-B1 right, L2-B3 wrong but only suggested, L3 unmatched, batch 4 exact, batch 5 missing L7.
MATCHES = [
    (1, "exact", "matched", "left", "L1"),
    (1, "exact", "matched", "right", "B1"),
    (2, "near", "suggested", "left", "L2"),
    (2, "near", "suggested", "right", "B3"),
    (3, "batches", "matched", "left", "L4"),
    (3, "batches", "matched", "left", "L5"),
    (3, "batches", "matched", "right", "B4"),
    (4, "batches", "matched", "left", "L6"),
    (4, "batches", "matched", "right", "B5"),
]


def test_quality_counts_pairs_and_exact_groups(bench, tmp_path: Path) -> None:
    columns = list(zip(*MATCHES, strict=True))
    table = pa.table(
        {
            "group_id": pa.array(columns[0], pa.int64()),
            "pass": columns[1],
            "status": columns[2],
            "side": columns[3],
            "id": columns[4],
        }
    )
    pq.write_table(table, tmp_path / "matches.parquet")
    side = {"rows": 1, "matched": 1, "suggested": 0, "break": 0, "unmatched": 0, "rejected": 0}
    (tmp_path / "summary.json").write_text(json.dumps({"left": side, "right": side}))
    (tmp_path / "truth.csv").write_text(TRUTH)

    q = bench.quality(tmp_path, tmp_path / "truth.csv")

    # matched member pairs: L1-B1, L4-B4, L5-B4, L6-B5 (L6 and B5 are in one truth group): all right;
    # the wrong L2-B3 is suggested: 1 of 5 pairs
    assert q["matched_pair_precision"] == 1.0
    assert q["suggested_share_of_pairs"] == pytest.approx(0.2)
    assert q["suggested_pair_precision"] == 0.0
    assert q["pairs"] == {"matched": 4, "suggested": 1, "all": 5}
    # 1:1 truth groups: L1-B1 found, L2-B2 and L3-B3 not
    assert q["recall_1to1"] == pytest.approx(1 / 3, abs=1e-4)
    assert q["recall_1to1_by_kind"] == {"exact": 1.0, "near": 0.0, "break": 0.0}
    # two many_to_one truth groups, one found with exactly its members
    assert q["truth"]["one_to_n"] == 2
    assert q["groups_1toN_found_exactly"] == 0.5
