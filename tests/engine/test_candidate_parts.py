"""A pass that blocks on keys or a band and scores its candidates gathers, scores and cuts them to min_score
in parts: CANDIDATE_CHUNK left records first, then about PART_PAIRS candidates a part
(recon.engine.executor.Session.candidate_tables; the right records' kept flags and best scores carried
across the parts, AcrossParts), and computes each score item for SCORE_CHUNK of them at a time
(Session.similarities_at): any sizes give the results of one query and one call, unmatched details (best
scores below min_score) included."""

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
        monkeypatch.setattr(executor, "PART_PAIRS", size * 3)
        monkeypatch.setattr(executor, "SCORE_CHUNK", size // 2)
        parts.clear()
        chunked = _outputs(files, tmp_path / f"parts-{size}")
        assert parts.count("__left_part") > 1, size  # the parts were taken
        for name in OUTPUTS:
            assert chunked[name].equals(whole[name]), (size, name)  # type: ignore[attr-defined]
    assert whole["matches"].num_rows > 0  # type: ignore[attr-defined]


def test_the_text_searched_keeps_only_words_sought_as_a_rarest_word(tmp_path, monkeypatch):
    """A `contains` pass's word table of the text searched (the dense demo's bank descriptions) holds only
    words that some sought value (a ledger reference) has as its rarest word: the others never join, and
    the outputs equal those of the whole table (the 200k and 1M dense demo files against the main line)."""
    files = generate(1_500, tmp_path / "demo", seed=3, shape="dense")
    registered: dict[str, list[object]] = {"__wl": [], "__wr": []}
    original = executor.Session.register

    def spy(self, name, table):  # type: ignore[no-untyped-def]
        if name in registered:
            registered[name].append(table)
        return original(self, name, table)

    monkeypatch.setattr(executor.Session, "register", spy)
    _outputs(files, tmp_path / "out")
    # the first pass with word tables is `reference-in-text` (the near pass's are key words of both sides)
    sought, searched = registered["__wl"][0], registered["__wr"][0]
    rids = sought.column("rid").to_pylist()  # type: ignore[attr-defined]
    assert len(rids) == len(set(rids))  # one rarest word a reference
    assert searched.num_rows > 0  # type: ignore[attr-defined]
    words = set(sought.column("w").to_pylist())  # type: ignore[attr-defined]
    assert set(searched.column("w").to_pylist()) <= words  # type: ignore[attr-defined]
