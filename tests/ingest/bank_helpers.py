"""Helpers for the bank statement tests: the golden files and plain forms of parsed values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

BANKS = Path(__file__).resolve().parents[1] / "data" / "banks"


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def inputs() -> list[Path]:
    return sorted(p for p in BANKS.iterdir() if not p.name.endswith(".expected.json"))


def expected_path(path: Path) -> Path:
    return path.with_name(path.name.rsplit(".", 1)[0] + ".expected.json")
