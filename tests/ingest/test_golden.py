"""Golden files: each tests/data/ingest/<case>.expected.json names an input file, the read options and the
exact expected table, rejected records, errors and detections (written by hand from the input)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from recon.ingest import ReadOptions, read_file

from .helpers import DATA, plain, rows_of, schema_of

CASES = sorted(DATA.glob("*.expected.json"))


@pytest.mark.parametrize("expected_file", CASES, ids=lambda p: p.name.removesuffix(".expected.json"))
def test_golden(expected_file: Path) -> None:
    case = json.loads(expected_file.read_text(encoding="utf-8"))
    path = DATA / case["input"]
    options = ReadOptions.from_mapping(case["options"], where="read")

    result = read_file(path, options=options, types=case["types"], id_column=case["id_column"])

    assert result.format == case["format"]
    assert list(schema_of(result.table).items()) == list(case["schema"].items())
    assert rows_of(result.table) == case["rows"]
    assert list(result.rejected.column_names) == [*case["schema"], "_row", "_reason"]
    rejected = [
        {"_row": r["_row"], "_reason": r["_reason"], "values": [plain(r[name]) for name in case["schema"]]}
        for r in result.rejected.to_pylist()
    ]
    assert rejected == case["rejected"]
    assert [[e.row, e.line, e.column, e.value, e.reason] for e in result.errors] == case["errors"]
    assert {key: result.detected.get(key) for key in case["detected"]} == case["detected"]
    assert result.rows_read == len(case["rows"]) + len(case["rejected"])
    # Rows are numbered 1..rows_read without gaps: the accepted ones are the complement of `_row`.
    rejected_rows = result.rejected["_row"].to_pylist()
    assert len(set(rejected_rows)) == len(rejected_rows)
    assert all(1 <= row <= result.rows_read for row in rejected_rows)
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_input_file_has_a_golden_case() -> None:
    used = {json.loads(p.read_text(encoding="utf-8"))["input"] for p in CASES}
    inputs = {p.name for p in DATA.iterdir() if not p.name.endswith(".expected.json")}
    assert inputs == used
