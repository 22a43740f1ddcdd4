"""The built-in job kinds: each name is written once, here.

The registry (`TASK_MODULES`), the service that enqueues a kind and the `@task` that runs it all use these
constants, so a renamed kind cannot leave one of the three behind (tests/jobs/test_job_names.py checks it).
"""

from __future__ import annotations

from typing import Final

INGEST_DATASET: Final = "ingest_dataset"
EXPORT_RUN: Final = "export_run"
RUN_EXECUTE: Final = "run_execute"
RULESET_DRY_RUN: Final = "ruleset_dry_run"
INSTANT_INDEX_BOOK: Final = "instant_index_book"
