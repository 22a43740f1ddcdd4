"""`python -m recon.cli.run_demo` (what `make run` does until the web platform exists)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recon.cli import run_demo


def test_run_demo_generates_matches_and_prints_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert run_demo.main(["--rows", "500", "--dir", str(tmp_path / "demo")]) == 0
    summary = json.loads((tmp_path / "demo" / "out" / "summary.json").read_text())
    assert summary["left"]["rows"] == 500
    printed = capsys.readouterr().out
    assert "Records and amounts per side" in printed
    assert "recon match" in printed
