"""A pass that blocks on keys or a band and scores its candidates gathers them CANDIDATE_CHUNK left records
at a time (recon.engine.executor.Session.candidate_table) and computes each score item for SCORE_CHUNK of
them at a time (Session.similarities_at): any sizes give the results of one query and one call."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from recon.cli.match import MatchRequest, run_match
from recon.demo.generator import generate
from recon.engine import executor

OUTPUTS = ("matches", "unmatched_left", "unmatched_right")


def _outputs(files, out: Path) -> dict[str, object]:  # type: ignore[no-untyped-def]
    run_match(MatchRequest(files.left, files.right, files.rules, out))
    return {name: pq.read_table(out / f"{name}.parquet") for name in OUTPUTS}


@pytest.mark.parametrize(("shape", "rows"), [("dense", 1_500), ("classic", 800)])
def test_candidates_gathered_in_parts_give_the_results_of_one_query(shape, rows, tmp_path, monkeypatch):
    files = generate(rows, tmp_path / "demo", seed=3, shape=shape)
    whole = _outputs(files, tmp_path / "whole")
    parts: list[str] = []
    original = executor.join_clause

    def spy(plan, left, *args, **kwargs):  # type: ignore[no-untyped-def]
        parts.append(left)
        return original(plan, left, *args, **kwargs)

    monkeypatch.setattr(executor, "join_clause", spy)
    for size in (17, 60):
        monkeypatch.setattr(executor, "CANDIDATE_CHUNK", size)
        monkeypatch.setattr(executor, "SCORE_CHUNK", size // 2)
        parts.clear()
        chunked = _outputs(files, tmp_path / f"parts-{size}")
        assert parts.count("__left_part") > 1, size  # the parts were taken
        for name in OUTPUTS:
            assert chunked[name].equals(whole[name]), (size, name)  # type: ignore[attr-defined]
    assert whole["matches"].num_rows > 0  # type: ignore[attr-defined]
