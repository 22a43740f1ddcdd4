"""Instant reconciliation runs in the API process, which has no data stack (ADR 0009): its modules, with the
engine's date-evidence rule they call (recon.engine.date_levels), import and score without NumPy."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from dated_rules import WINDOW_DAYS, dated_rules_text

SCRIPT = textwrap.dedent(
    """
    import datetime as dt, json, sys
    from decimal import Decimal

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"numpy", "pyarrow", "duckdb", "scipy", "polars", "rapidfuzz"}:
                raise ImportError(f"{name} is not in the api image")

    sys.meta_path.insert(0, Blocker())
    from recon.engine import parse_rules
    from recon.engine.date_levels import count_levels, level_penalties, level_weights
    from recon.instant.plan import build_plan
    import recon.instant.match, recon.instant.service

    rules = parse_rules(sys.argv[1], "rules")
    step = build_plan(rules, "left").passes[0]
    day = dt.date(2024, 3, 1)
    item = {"amount": Decimal("5.00"), "currency": "EUR", "date": day, "counterparty": "ACME"}
    txn = {**item, "date": day + dt.timedelta(days=1)}
    # 40 lone pairs a day apart, 40 candidates of 20 records with two each, 2 days the other way
    left = list(range(40)) + [100 + n // 2 for n in range(40)]
    bits = level_weights(*count_levels(left, list(range(80)), [1] * 40 + [-2] * 40, 3))
    print(json.dumps({"window": step.date_window, "score": step.holds(item, txn),
                      "penalties": level_penalties(bits) if bits else None}))
    """
)


def test_instant_scores_a_dated_pass_without_numpy() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, dated_rules_text()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["window"] == ["date", "date", WINDOW_DAYS]
    assert out["score"] == 1.0
    assert out["penalties"] is not None and len(out["penalties"]) == 7
    assert max(out["penalties"]) == 0.0 and min(out["penalties"]) < 0
