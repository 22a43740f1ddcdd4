"""`recon match` end to end on a small demo, and its answers to bad input (exit 2, one line per problem)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from recon.cli.main import app
from recon.demo import DemoFiles, generate

runner = CliRunner()
ROWS = 2_000
OUTPUTS = ("summary.json", "matches.{ext}", "unmatched_left.{ext}", "unmatched_right.{ext}")
STATUS_KEYS = ("rows", "matched", "suggested", "break", "unmatched", "rejected", "duplicate", "amounts")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    return generate(ROWS, tmp_path_factory.mktemp("demo"), seed=5)


def match(files: DemoFiles, out: Path, *extra: str, rules: Path | None = None):
    args = [
        "match",
        str(files.left),
        str(files.right),
        "--rules",
        str(rules or files.rules),
        "--out",
        str(out),
    ]
    return runner.invoke(app, [*args, *extra])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_rules(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


SIMPLE_RULES = """\
version: 1
name: simple
left: {id: id}
right: {id: id}
columns: {amount: decimal}
passes:
  - name: exact
    kind: one_to_one
    match:
      - {left: reference, right: reference, op: equals}
      - {left: amount, right: amount, op: equals}
"""


@pytest.fixture(scope="module")
def matched(demo: DemoFiles, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("out")
    result = match(demo, out)
    assert result.exit_code == 0, result.stderr
    return out, json.loads((out / "summary.json").read_text())


def test_match_writes_the_four_files_and_prints_the_summary(demo: DemoFiles, tmp_path: Path) -> None:
    result = match(demo, tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    for name in OUTPUTS:
        assert (tmp_path / "out" / name.format(ext="parquet")).is_file()
    assert "Passes" in result.stdout and "reference-breaks" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_summary_has_the_contract_keys_and_counts_add_up(demo: DemoFiles, matched: tuple[Path, dict]) -> None:
    out, summary = matched
    for key in ("engine_version", "rules", "left", "right", "passes", "unmatched_reasons", "checks"):
        assert key in summary
    assert summary["checks"] == {"exactly_once": True, "control_totals": True}
    assert isinstance(summary["elapsed_s"], float)
    assert summary["inputs"] == {
        "left_file": str(demo.left),
        "right_file": str(demo.right),
        "left_sha256": sha256(demo.left),
        "right_sha256": sha256(demo.right),
        "rules_sha256": sha256(demo.rules),
    }
    assert summary["left"]["rows"] == ROWS
    for side in ("left", "right"):
        figures = summary[side]
        assert set(STATUS_KEYS) <= set(figures)
        parts = ("matched", "suggested", "break", "unmatched", "rejected")
        assert figures["rows"] == sum(figures[k] for k in parts)
        amounts = {k: Decimal(v) for k, v in figures["amounts"].items()}
        assert amounts["total"] == sum(amounts[k] for k in parts)
        # Reasons cover unmatched records (duplicates included) and rejected ones.
        reasons = summary["unmatched_reasons"][side]
        assert sum(reasons.values()) == figures["unmatched"] + figures["rejected"]
        assert reasons["duplicate"] == figures["duplicate"]
    assert [p["name"] for p in summary["passes"]] == ["exact", "reference-breaks", "near", "batches"]
    for item in summary["passes"]:
        assert {"name", "kind", "groups", "left", "right"} <= set(item)
    # Every record lands once: members of groups plus unmatched rows equal the input rows.
    members = pq.read_table(out / "matches.parquet")
    sides = members.column("side").to_pylist()
    assert sides.count("left") + pq.read_table(out / "unmatched_left.parquet").num_rows == ROWS
    bank_rows = sum(1 for _ in demo.right.open()) - 1
    assert sides.count("right") + pq.read_table(out / "unmatched_right.parquet").num_rows == bank_rows


def test_the_demo_is_mostly_matched_and_breaks_are_found(matched: tuple[Path, dict]) -> None:
    _out, summary = matched
    assert summary["left"]["matched"] > 0.8 * ROWS
    assert summary["left"]["break"] > 0
    assert summary["right"]["duplicate"] > 0


def test_csv_format_and_two_runs_give_identical_files(demo: DemoFiles, tmp_path: Path) -> None:
    for fmt in ("csv", "parquet"):
        first, second = tmp_path / f"{fmt}1", tmp_path / f"{fmt}2"
        for out in (first, second):
            result = match(demo, out, "--format", fmt, "--quiet", "--threads", "2")
            assert result.exit_code == 0, result.stderr
            assert result.stdout == ""
        for name in OUTPUTS[1:]:
            file = name.format(ext=fmt)
            assert (first / file).read_bytes() == (second / file).read_bytes(), file
    header = (tmp_path / "csv1" / "matches.csv").read_text().splitlines()[0]
    for column in ("group_id", "pass", "status", "side", "id", "score", "explanation"):
        assert column in header


def test_memory_limit_still_completes(demo: DemoFiles, tmp_path: Path) -> None:
    result = match(demo, tmp_path / "out", "--memory-limit", "256MB", "--quiet")
    assert result.exit_code == 0, result.stderr


def test_misspelt_rules_key_exits_2_naming_key_and_suggestion(demo: DemoFiles, tmp_path: Path) -> None:
    bad = demo.rules.read_text().replace("op: tolerance,", "op: toleranse,", 1)
    result = match(demo, tmp_path / "out", rules=write_rules(tmp_path / "bad.yaml", bad))
    assert result.exit_code == 2
    assert "toleranse" in result.stderr and "tolerance" in result.stderr
    assert "bad.yaml" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "summary.json").exists()


def test_misspelt_key_names_its_location(demo: DemoFiles, tmp_path: Path) -> None:
    bad = demo.rules.read_text().replace("min_score:", "min_scor:")
    result = match(demo, tmp_path / "out", rules=write_rules(tmp_path / "key.yaml", bad))
    assert result.exit_code == 2
    assert "passes[2]" in result.stderr and "min_scor" in result.stderr and "'min_score'" in result.stderr


def test_all_rules_problems_are_listed_one_per_line(demo: DemoFiles, tmp_path: Path) -> None:
    bad = SIMPLE_RULES.replace("op: equals}", "op: equal}").replace("kind: one_to_one", "kind: one_to_won")
    result = match(demo, tmp_path / "out", rules=write_rules(tmp_path / "bad.yaml", bad))
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) >= 3, result.stderr
    assert "one_to_won" in result.stderr and "equal" in result.stderr


def test_unknown_column_exits_2_naming_the_column(demo: DemoFiles, tmp_path: Path) -> None:
    bad = SIMPLE_RULES.replace("{left: reference, right: reference", "{left: refrence, right: reference")
    result = match(demo, tmp_path / "out", rules=write_rules(tmp_path / "cols.yaml", bad))
    assert result.exit_code == 2
    assert "refrence" in result.stderr and "reference" in result.stderr


def test_missing_input_file_exits_2_naming_it(demo: DemoFiles, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    result = runner.invoke(
        app,
        ["match", str(missing), str(demo.right), "--rules", str(demo.rules), "--out", str(tmp_path / "o")],
    )
    assert result.exit_code == 2
    assert str(missing) in result.stderr and "not found" in result.stderr


def test_bad_read_option_exits_2_naming_it(demo: DemoFiles, tmp_path: Path) -> None:
    rules = SIMPLE_RULES.replace("left: {id: id}", "left: {id: id, read: {delimter: ';'}}")
    result = match(demo, tmp_path / "out", rules=write_rules(tmp_path / "read.yaml", rules))
    assert result.exit_code == 2
    assert "delimter" in result.stderr and "delimiter" in result.stderr


def test_header_only_problem_exits_2_naming_the_file(demo: DemoFiles, tmp_path: Path) -> None:
    broken = tmp_path / "dup_header.csv"
    broken.write_text("id,amount,amount\n1,2.00,3.00\n")
    result = runner.invoke(
        app, ["match", str(broken), str(demo.right), "--rules", str(demo.rules), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "dup_header.csv" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_memory_limit_exits_2(demo: DemoFiles, tmp_path: Path) -> None:
    result = match(demo, tmp_path / "out", "--memory-limit", "lots")
    assert result.exit_code == 2
    assert "--memory-limit" in result.stderr


def test_rejected_rows_are_not_an_error(tmp_path: Path) -> None:
    left = tmp_path / "left.csv"
    right = tmp_path / "right.csv"
    left.write_text("id,reference,amount\nA1,R1,10.00\nA2,R2,12.x0\nA3,R3,7.50\n")
    right.write_text("id,reference,amount\nB1,R1,10.00\nB2,R3,7.50\nB3,R9,1.00\n")
    rules = write_rules(tmp_path / "rules.yaml", SIMPLE_RULES)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["match", str(left), str(right), "--rules", str(rules), "--out", str(out), "--format", "csv"]
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["left"]["rows"] == 3
    assert summary["left"]["matched"] == 2
    assert summary["left"]["rejected"] == 1
    assert summary["right"]["unmatched"] == 1
    unmatched = (out / "unmatched_left.csv").read_text()
    assert "A2" in unmatched and "rejected" in unmatched and "amount" in unmatched


def test_record_without_id_is_rejected_not_matched(tmp_path: Path) -> None:
    left = tmp_path / "left.csv"
    right = tmp_path / "right.csv"
    left.write_text("id,reference,amount\nA1,R1,10.00\n,R2,12.00\n")
    right.write_text("id,reference,amount\nB1,R1,10.00\nB2,R2,12.00\n")
    rules = write_rules(tmp_path / "rules.yaml", SIMPLE_RULES)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["match", str(left), str(right), "--rules", str(rules), "--out", str(out), "--format", "csv"]
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["left"]["rows"] == 2
    assert summary["left"]["rejected"] == 1
    assert summary["right"]["unmatched"] == 1
    unmatched = (out / "unmatched_left.csv").read_text()
    assert "rejected" in unmatched and "R2" in unmatched


def test_duplicate_ids_exit_2_naming_the_file_and_id(tmp_path: Path) -> None:
    left = tmp_path / "left.csv"
    right = tmp_path / "right.csv"
    left.write_text("id,reference,amount\nA1,R1,10.00\nA1,R2,12.00\n")
    right.write_text("id,reference,amount\nB1,R1,10.00\n")
    rules = write_rules(tmp_path / "rules.yaml", SIMPLE_RULES)
    result = runner.invoke(
        app, ["match", str(left), str(right), "--rules", str(rules), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert str(left) in result.stderr and "A1" in result.stderr


def test_rules_check_prints_the_plan(demo: DemoFiles) -> None:
    result = runner.invoke(app, ["rules", "check", str(demo.rules)])
    assert result.exit_code == 0, result.stderr
    for name in ("exact", "near", "batches", "reference-breaks"):
        assert name in result.stdout
    assert "OK" in result.stdout


def test_rules_check_with_files_checks_columns(demo: DemoFiles, tmp_path: Path) -> None:
    ok = runner.invoke(
        app, ["rules", "check", str(demo.rules), "--left", str(demo.left), "--right", str(demo.right)]
    )
    assert ok.exit_code == 0, ok.stderr
    assert "columns OK" in ok.stdout
    other = tmp_path / "other.csv"
    other.write_text("id,ref,amount\nX,1,2.00\n")
    bad = runner.invoke(
        app, ["rules", "check", str(demo.rules), "--left", str(other), "--right", str(demo.right)]
    )
    assert bad.exit_code == 2
    assert "reference" in bad.stderr


def test_rules_check_bad_rules_exit_2(tmp_path: Path) -> None:
    bad = write_rules(tmp_path / "bad.yaml", SIMPLE_RULES.replace("version: 1", "version: 2"))
    result = runner.invoke(app, ["rules", "check", str(bad)])
    assert result.exit_code == 2
    assert "version" in result.stderr


def test_demo_command_writes_the_files(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--rows", "300", "--out", str(tmp_path / "d"), "--seed", "3"])
    assert result.exit_code == 0, result.stderr
    for name in ("ledger.csv", "bank.csv", "rules.yaml", "truth.csv"):
        assert (tmp_path / "d" / name).is_file()
    again = generate(300, tmp_path / "again", seed=3)
    assert again.left.read_bytes() == (tmp_path / "d" / "ledger.csv").read_bytes()


def test_demo_command_stays_out_of_the_platform_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    refused = runner.invoke(app, ["demo", "--rows", "300", "--out", str(tmp_path / "var" / "demo")])
    assert refused.exit_code == 2
    assert "platform's data directory" in refused.stderr and not (tmp_path / "var" / "demo").exists()
    default = runner.invoke(app, ["demo", "--rows", "300"])
    assert default.exit_code == 0, default.stderr
    assert (tmp_path / "demo-data" / "ledger.csv").is_file()
    forced = runner.invoke(app, ["demo", "--rows", "300", "--out", str(tmp_path / "var" / "d"), "--force"])
    assert forced.exit_code == 0 and (tmp_path / "var" / "d" / "bank.csv").is_file()


def test_demo_command_refuses_zero_rows(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--rows", "0", "--out", str(tmp_path / "d")])
    assert result.exit_code == 2


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("recon 0.")
    assert "engine" in result.stdout


def test_console_script_in_a_real_process(demo: DemoFiles, tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "recon.cli", "match", str(demo.left), str(demo.right), "--rules"]
    done = subprocess.run(
        [*argv, str(demo.rules), "--out", str(out), "--quiet"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (out / "summary.json").is_file()
    bad = subprocess.run(
        [*argv, str(tmp_path / "none.yaml"), "--out", str(out)], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert "none.yaml" in bad.stderr and "Traceback" not in bad.stderr


def test_profile_prints_the_stages(demo: DemoFiles, tmp_path: Path) -> None:
    result = match(demo, tmp_path / "out", "--quiet", "--profile")
    assert result.exit_code == 0, result.stderr
    assert "Profile:" in result.stderr
    for stage in (
        "read left file",
        "pass 1 exact (total)",
        "near: candidates (DuckDB)",
        "write parquet results",
    ):
        assert stage in result.stderr
    assert "RSS MB" in result.stderr and "peak MB" in result.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert "profile" not in summary  # the file stays the contract; the profile is printed


def test_demo_command_dense_shape_matches_its_rules(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--shape", "dense", "--rows", "3000", "--out", str(tmp_path / "d")])
    assert result.exit_code == 0, result.stderr
    files = DemoFiles(
        *(tmp_path / "d" / name for name in ("ledger.csv", "bank.csv", "rules.yaml", "truth.csv"))
    )
    assert "demo-dense" in files.rules.read_text()
    out = tmp_path / "out"
    assert match(files, out, "--quiet").exit_code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert {p["name"] for p in summary["passes"]} >= {"reference-in-text", "partial-payments", "collective"}
    assert summary["left"]["matched"] + summary["left"]["suggested"] + summary["left"]["break"] > 0.85 * 3000
