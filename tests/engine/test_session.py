"""Engine knobs: progress events, memory limit / threads / spill directory, greedy fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import recon.engine.assign as assign_module
from recon.engine import ProgressEvent, reconcile

from .helpers import rules_for, side

RULES = """\
  - name: exact
    kind: one_to_one
    match:
      - {left: ref, right: ref, op: equals}
  - name: near
    kind: one_to_one
    match:
      - {left: amount, right: amount, op: tolerance, abs: 1}
"""


def tables(n: int = 40):
    left = side(
        [f"L{i:03d}" for i in range(n)], [f"{i % 7}.00" for i in range(n)], ref=[f"R{i}" for i in range(n)]
    )
    right = side(
        [f"B{i:03d}" for i in range(n)],
        [f"{i % 5}.50" for i in range(n)],
        ref=[f"R{i}" if i % 3 else None for i in range(n)],
    )
    return left, right


def test_progress_reports_start_and_done_per_pass():
    events: list[ProgressEvent] = []
    left, right = tables()
    result = reconcile(left, right, rules_for(RULES), progress=events.append)
    assert [(e.pass_name, e.stage) for e in events] == [
        ("exact", "start"),
        ("exact", "done"),
        ("near", "start"),
        ("near", "done"),
    ]
    done = [e for e in events if e.stage == "done"]
    assert [e.groups for e in done] == [p["groups"] for p in result.summary["passes"]]
    assert all(e.passes == 2 for e in events)


def test_memory_limit_threads_and_spill_directory_do_not_change_results(tmp_path: Path):
    left, right = tables()
    rules = rules_for(RULES)
    default = reconcile(left, right, rules)
    limited = reconcile(left, right, rules, memory_limit="64MB", threads=1, temp_dir=str(tmp_path))
    assert limited.matches.equals(default.matches)
    assert limited.unmatched_left.equals(default.unmatched_left)
    assert tmp_path.exists()  # a given spill directory is left in place


def test_huge_components_fall_back_to_greedy_and_say_so(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(assign_module, "GREEDY_NODES", 3)
    monkeypatch.setattr(assign_module, "TEMPLATE_LIMIT", 0)
    left = side(["L1", "L2", "L3"], ["1.00", "1.10", "1.20"])
    right = side(["R1", "R2", "R3"], ["1.05", "1.15", "1.25"])
    rules = rules_for(
        "  - name: near\n    kind: one_to_one\n    match:\n"
        "      - {left: amount, right: amount, op: tolerance, abs: 0.5}\n"
    )
    result = reconcile(left, right, rules)
    explanations = [json.loads(e) for e in result.matches.column("explanation").to_pylist() if e]
    assert len(explanations) == 3
    assert all(e["assignment"] == "greedy" for e in explanations)


DERIVED_RULES = """\
  - name: exact
    kind: one_to_one
    match:
      - {left: ref, right: ref, op: equals, normalize: [digits]}
  - name: near
    kind: one_to_one
    match:
      - {left: amount, right: amount, op: tolerance, abs: 1}
    score:
      - {left: name, right: name, method: jaro_winkler}
  - name: again
    kind: one_to_one
    match:
      - {left: amount, right: amount, op: tolerance, abs: 2}
      - {left: name, right: name, op: similarity, method: jaro_winkler, min: 0.5}
"""


def named_tables(n: int = 40):
    names = ["ACME TRADING", "Acme Trdg GmbH", "ZED Corp", "zed corporation", "Bolt & Sons"]
    left = side(
        [f"L{i:03d}" for i in range(n)],
        [f"{i % 7}.00" for i in range(n)],
        ref=[f"INV-{i}" if i % 4 else None for i in range(n)],
        name=[names[i % 5] for i in range(n)],
    )
    right = side(
        [f"B{i:03d}" for i in range(n)],
        [f"{i % 5}.50" for i in range(n)],
        ref=[f"inv {i}" if i % 3 else None for i in range(n)],
        name=[names[(i * 3) % 5] for i in range(n)],
    )
    return left, right


def test_derived_columns_are_dropped_after_their_last_pass_with_the_same_results(monkeypatch):
    from recon.engine.executor import Session

    dropped: list[list[tuple]] = []
    original = Session.drop_derived

    def spy(self, keep):  # type: ignore[no-untyped-def]
        dropped.append(original(self, keep))
        return dropped[-1]

    left, right = named_tables()
    rules = rules_for(DERIVED_RULES)
    monkeypatch.setattr(Session, "drop_derived", spy)
    result = reconcile(left, right, rules)
    # the reference digits go after `exact`; the names (read by both later passes) after the last pass
    assert sorted(dropped[0]) == [("left", "ref", ("digits",)), ("right", "ref", ("digits",))]
    assert dropped[1] == []
    assert {key[1] for key in dropped[2]} == {"name"}
    monkeypatch.setattr(Session, "drop_derived", lambda self, keep: [])
    kept = reconcile(left, right, rules)
    assert result.matches.equals(kept.matches)
    assert result.unmatched_left.equals(kept.unmatched_left)
    assert result.unmatched_right.equals(kept.unmatched_right)


def test_a_column_derived_for_a_pass_covers_its_open_records_and_is_widened_when_asked():
    import numpy as np
    import pyarrow as pa

    from recon.engine.executor import Session, order_by_id
    from recon.engine.frequency import Vocabularies

    texts = ["Acme Trading", "Beta GmbH", None, "gamma-co", "Delta AG"]
    table = pa.table({"id": [f"L{i}" for i in range(5)], "name": texts})
    session = Session(None, None, 1)
    try:
        for name in ("left", "right"):
            session.add_side(order_by_id(name, table, "id"))
        second = Vocabularies((np.array([1, 3]), np.array([0, 1, 3])), generation=2)
        narrow = session.derived_values("left", "name", ("upper",), second)
        assert narrow.to_pylist() == [None, "BETA GMBH", None, "GAMMA-CO", None]
        # a later pass (fewer open records) reuses it; an earlier pass's or the planner's request widens it
        later = Vocabularies((np.array([3]), np.array([3])), generation=3)
        assert session.derived_values("left", "name", ("upper",), later) is narrow
        full = session.derived_values("left", "name", ("upper",))
        assert full.to_pylist() == ["ACME TRADING", "BETA GMBH", None, "GAMMA-CO", "DELTA AG"]
        assert session.derived_values("left", "name", ("upper",), second) is full
    finally:
        session.close()


LATER_TEXT_RULES = """\
  - name: exact
    kind: one_to_one
    match:
      - {left: ref, right: ref, op: equals, normalize: [digits]}
  - name: by-name
    kind: one_to_one
    match:
      - {left: amount, right: amount, op: tolerance, abs: 2}
      - {left: name, right: name, op: equals, normalize: [words, upper]}
"""


def test_a_column_the_sql_names_is_made_when_a_pass_reads_it_for_its_open_records(monkeypatch):
    import pyarrow.compute as pc

    from recon.engine.executor import Session

    made: list[tuple[str, str, int]] = []
    original = Session._derived_column

    def spy(self, side, column, derivation, rids):  # type: ignore[no-untyped-def]
        made.append((side, column, self.sides[side].n if rids is None else len(rids)))
        return original(self, side, column, derivation, rids)

    offered: list[tuple[int, int]] = []
    begin = Session.begin_pass

    def count(self, records):  # type: ignore[no-untyped-def]
        offered.append((len(records[0]), len(records[1])))
        return begin(self, records)

    left, right = named_tables()
    rules = rules_for(LATER_TEXT_RULES)
    monkeypatch.setattr(Session, "_derived_column", spy)
    monkeypatch.setattr(Session, "begin_pass", count)
    result = reconcile(left, right, rules)
    exact = result.matches.filter(pc.equal(result.matches["pass"], "exact"))
    assert len(exact) > 0 and len(offered) == 2
    assert offered[1][0] < offered[0][0] and offered[1][1] < offered[0][1]
    # each column made once, when a pass's SQL first reads it, for that pass's open records only
    assert sorted(m for m in made if m[1] == "ref") == [
        ("left", "ref", offered[0][0]),
        ("right", "ref", offered[0][1]),
    ]
    assert sorted(m for m in made if m[1] == "name") == [
        ("left", "name", offered[1][0]),
        ("right", "name", offered[1][1]),
    ]

    # the same outcome as with every column made for every record before the passes
    def every_record(self, side, plan, rids, expressions):  # type: ignore[no-untyped-def]
        for key in self.named_in(side, expressions):
            self.materialize(*key)
        self.publish(side)

    monkeypatch.setattr(Session, "materialize_named", every_record)
    whole = reconcile(left, right, rules)
    for name in ("matches", "unmatched_left", "unmatched_right"):
        assert getattr(result, name).equals(getattr(whole, name)), name
