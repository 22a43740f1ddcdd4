"""Imported by worker processes of the kill test (`recon worker --import dataset_kill_hooks`).

With RECON_TEST_STALL_MARKER set, the first ingestion that reaches it stops right after its records were
bulk-inserted (inside the still-open transaction), writes the marker file and sleeps: the test SIGKILLs the
process there. Everything else is the real `ingest_dataset` task.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from recon.datasets import tasks

_real_insert_records = tasks.insert_records


def _stalling_insert_records(session: Any, dataset_id: str, records: Any) -> None:
    _real_insert_records(session, dataset_id, records)
    session.flush()
    marker = os.environ.get("RECON_TEST_STALL_MARKER")
    if marker and not Path(marker).exists():
        Path(marker).write_text(dataset_id)
        time.sleep(600)  # killed here, halfway through the transaction


tasks.insert_records = _stalling_insert_records  # type: ignore[assignment]
