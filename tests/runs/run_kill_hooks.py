"""Imported by worker processes of the kill test (`recon worker --import run_kill_hooks`).

With RECON_TEST_STALL_MARKER set, the first run that reaches it stops right after its groups and items were
bulk-inserted (inside the still-open transaction), writes the marker file and sleeps: the test SIGKILLs the
process there. Everything else is the real `run_execute` task.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

from recon.runs import tasks

_real_write_results = tasks.write_results


def _stalling_write_results(session: Any, run: Any, built: Any, now: dt.datetime, carry: Any = None) -> Any:
    outcome = _real_write_results(session, run, built, now, carry)
    session.flush()
    marker = os.environ.get("RECON_TEST_STALL_MARKER")
    if marker and not Path(marker).exists():
        Path(marker).write_text(run.id)
        time.sleep(600)  # killed here, halfway through the transaction
    return outcome


tasks.write_results = _stalling_write_results
