"""The steps of executing a run: load the pinned inputs, reconcile with progress, build the result rows.

Everything here reads; the task (recon.runs.tasks) owns the transactions.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from recon.core.db import SessionFactory, session_scope
from recon.datasets.bulk import load_dataset_arrow
from recon.engine import ProgressEvent, Reconciliation, RuleSet, parse_rules, reconcile
from recon.models import Dataset, DatasetStatus, RuleSetVersion
from recon.models.runs import Run
from recon.rulesets.dryrun import rejected_arrow
from recon.runs.outcome import SideInput

# Progress of a run is written at most this often (pass "done" events always).
PROGRESS_INTERVAL_S = 0.5


class InputProblem(Exception):
    """The pinned inputs cannot be used (changed, missing, not ready): the run fails without retries."""


@dataclass
class Inputs:
    rules: RuleSet
    version: RuleSetVersion
    sides: dict[str, SideInput]
    datasets: dict[str, Dataset]


def _dataset(session: Session, run: Run, side: str) -> Dataset:
    dataset_id = run.left_dataset_id if side == "left" else run.right_dataset_id
    pinned = run.left_sha256 if side == "left" else run.right_sha256
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise InputProblem(f"the {side} dataset {dataset_id} no longer exists")
    if dataset.sha256 != pinned:
        raise InputProblem(
            f"the {side} dataset {dataset.name!r} has sha256 {dataset.sha256}, the run is pinned to {pinned}"
        )
    if dataset.status != DatasetStatus.READY.value:
        raise InputProblem(f"the {side} dataset {dataset.name!r} is {dataset.status}, not ready")
    return dataset


def _side(factory: SessionFactory, dataset_id: str, id_column: str) -> SideInput:
    with session_scope(factory) as session:
        dataset = session.get(Dataset, dataset_id)
        assert dataset is not None
        return SideInput(
            records=load_dataset_arrow(session, dataset, with_row_no=True),
            rejected=rejected_arrow(session, dataset),
            id_column=id_column,
        )


def load_inputs(factory: SessionFactory, run_id: str) -> Inputs:
    """Both datasets as Arrow tables (with the record row numbers; read in parallel, each on its own
    connection) and the pinned rule-set version, after checking them against the run's pins."""
    with session_scope(factory) as session:
        run = session.get(Run, run_id)
        if run is None:
            raise InputProblem(f"run {run_id} no longer exists")
        version, rules, datasets = _pinned(session, run)
    with ThreadPoolExecutor(2, thread_name_prefix="recon-load") as pool:
        futures = {
            side: pool.submit(_side, factory, dataset.id, getattr(rules, side).id)
            for side, dataset in datasets.items()
        }
        sides = {side: future.result() for side, future in futures.items()}
    return Inputs(rules=rules, version=version, sides=sides, datasets=datasets)


def _pinned(session: Session, run: Run) -> tuple[RuleSetVersion, RuleSet, dict[str, Dataset]]:
    version = session.get(RuleSetVersion, run.ruleset_version_id)
    if version is None:
        raise InputProblem(f"rule set version {run.ruleset_version_id} no longer exists")
    if version.sha256 != run.rules_sha256:
        raise InputProblem(
            f"rule set version sha256 {version.sha256} differs from the pinned {run.rules_sha256}"
        )
    rules = parse_rules(version.text, source=f"ruleset {run.ruleset_id} v{version.version}")
    return version, rules, {side: _dataset(session, run, side) for side in ("left", "right")}


@dataclass
class ProgressWriter:
    """Keeps run.progress ({"phase", "passes": [...]}) up to date from the engine's events, throttled."""

    factory: SessionFactory
    run_id: str
    job_id: str
    on_event: Callable[[ProgressEvent], None] | None = None
    doc: dict[str, Any] = field(default_factory=lambda: {"phase": "loading", "passes": []})
    _last: float = 0.0

    def phase(self, name: str) -> None:
        self.doc["phase"] = name
        self.flush()

    def __call__(self, event: ProgressEvent) -> None:
        passes = self.doc["passes"]
        entry = {
            "name": event.pass_name,
            "stage": event.stage,
            "groups": event.groups,
            "left": event.left,
            "right": event.right,
        }
        if event.pass_index < len(passes):
            passes[event.pass_index] = entry
        else:
            passes.extend([None] * (event.pass_index - len(passes)))
            passes.append(entry)
        if event.stage == "done" or time.monotonic() - self._last >= PROGRESS_INTERVAL_S:
            self.flush()
        if self.on_event is not None:
            self.on_event(event)

    def flush(self) -> None:
        self._last = time.monotonic()
        with session_scope(self.factory) as session:
            session.execute(
                update(Run)
                .where(Run.id == self.run_id, Run.job_id == self.job_id)
                .values(progress=copy.deepcopy(self.doc))
                .execution_options(synchronize_session=False)
            )


def run_engine(inputs: Inputs, progress: Callable[[ProgressEvent], None], temp_dir: str) -> Reconciliation:
    left, right = inputs.sides["left"], inputs.sides["right"]
    return reconcile(
        left.engine_table(),
        right.engine_table(),
        inputs.rules,
        left_rejected=left.rejected,
        right_rejected=right.rejected,
        temp_dir=temp_dir,
        progress=progress,
    )
