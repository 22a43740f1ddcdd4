"""The runbook's configuration table names every setting (a new setting without a row fails here)."""

from __future__ import annotations

import re
from pathlib import Path

from recon.config import Settings

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def test_every_setting_has_a_row_in_the_configuration_table() -> None:
    rows = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", RUNBOOK.read_text(), flags=re.MULTILINE))
    settings = {name.upper() for name in Settings.model_fields}
    assert settings - rows == set(), "add these to docs/operations.md#configuration"
    assert rows - settings == set(), "the runbook documents settings that do not exist"
