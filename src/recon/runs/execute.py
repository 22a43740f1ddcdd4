"""The steps of executing a run: load the pinned inputs, reconcile with progress, build the result rows.

Everything here reads; the task (recon.runs.tasks) owns the transactions.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import update
from sqlalchemy.orm import Session

from recon.core.db import SessionFactory, session_scope
from recon.datasets.bulk import arrow_extra_names, load_dataset_arrow
from recon.datasets.records_file import read_records_file
from recon.engine import ProgressEvent, Reconciliation, RuleSet, parse_rules, reconcile
from recon.models import Dataset, DatasetRecord, DatasetStatus, RuleSetVersion
from recon.models.runs import Run
from recon.rulesets.dryrun import rejected_arrow
from recon.runs.carry import CarriedItem, carried_items, carry_digest, origin_records
from recon.runs.outcome import ROW, SideInput
from recon.runs.persist import Carried, CarryMap
from recon.storage import ObjectStore

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
    carry: CarryMap = field(default_factory=dict)
    backend: str = "duckdb"  # the run's engine backend (duckdb | spark)


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
    if dataset.status != DatasetStatus.READY:
        raise InputProblem(f"the {side} dataset {dataset.name!r} is {dataset.status}, not ready")
    return dataset


def _side(factory: SessionFactory, dataset_id: str, id_column: str, store: ObjectStore | None) -> SideInput:
    with session_scope(factory) as session:
        dataset = session.get(Dataset, dataset_id)
        assert dataset is not None
        # The ingestion's Arrow file when there is one (no read of every record out of the database).
        records = None if store is None else read_records_file(store, dataset)
        return SideInput(
            records=load_dataset_arrow(session, dataset, with_row_no=True) if records is None else records,
            rejected=rejected_arrow(session, dataset),
            id_column=id_column,
        )


def load_inputs(factory: SessionFactory, run_id: str, store: ObjectStore | None = None) -> Inputs:
    """Both datasets as Arrow tables (with the record row numbers; read in parallel, each on its own
    connection; from their ingestion's Arrow files in `store` when present) and the pinned rule-set version,
    after checking them against the run's pins."""
    with session_scope(factory) as session:
        run = session.get(Run, run_id)
        if run is None:
            raise InputProblem(f"run {run_id} no longer exists")
        version, rules, datasets = _pinned(session, run)
        backend = run.backend
    with ThreadPoolExecutor(2, thread_name_prefix="recon-load") as pool:
        futures = {
            side: pool.submit(_side, factory, dataset.id, getattr(rules, side).id, store)
            for side, dataset in datasets.items()
        }
        sides = {side: future.result() for side, future in futures.items()}
    inputs = Inputs(rules=rules, version=version, sides=sides, datasets=datasets, backend=backend)
    _take_carried(factory, run_id, inputs)
    return inputs


def _take_carried(factory: SessionFactory, run_id: str, inputs: Inputs) -> None:
    """Add the carried-from run's reconciling items to their sides (see recon.runs.carry)."""
    with session_scope(factory) as session:
        run = session.get(Run, run_id)
        if run is None or run.carried_from_run_id is None:
            return
        source = session.get(Run, run.carried_from_run_id)
        if source is None:
            raise InputProblem(f"the carried-from run {run.carried_from_run_id} no longer exists")
        items = carried_items(session, source)
        if carry_digest(items) != run.carry_sha256:
            raise InputProblem(
                f"the reconciling items of run {source.id} changed since this run was created (was it "
                "reopened?); "
                "create the run again to carry the current ones"
            )
        records = origin_records(session, items)
    for side in ("left", "right"):
        mine = [i for i in items if i.side == side]
        if mine:
            inputs.sides[side], inputs.carry[side] = _with_carried(
                inputs.sides[side], inputs.datasets[side], mine, records
            )


def _record_values(item: CarriedItem, record: DatasetRecord | None, extra: dict[str, str]) -> dict[str, Any]:
    if record is None:  # the dataset row is gone: what the item itself knows
        return {"id": item.ext_id, "amount": item.amount, "currency": item.currency}
    values: dict[str, Any] = {
        "id": record.ext_id,
        "date": record.date,
        "value_date": record.value_date,
        "amount": record.amount,
        "currency": record.currency,
        "reference": record.reference,
        "counterparty": record.counterparty,
        "description": record.description,
    }
    for key, value in (record.extra or {}).items():
        if key in extra:
            values[extra[key]] = value
    return values


def _scale(amount: Decimal | None) -> int:
    if amount is None:
        return 0
    exponent = amount.normalize().as_tuple().exponent
    return max(-exponent, 0) if isinstance(exponent, int) else 0


def _with_carried(
    data: SideInput,
    dataset: Dataset,
    items: list[CarriedItem],
    records: dict[tuple[str, int], DatasetRecord],
) -> tuple[SideInput, dict[int, Carried]]:
    """The side with the carried items appended (rows -1, -2, ...), and what each carried row continues.
    An item whose id is already a record of the side is that record exported again: it continues it."""
    table = data.records
    extra = arrow_extra_names(dataset.extra_columns or [])
    values = [_record_values(i, records.get((i.dataset_id, i.row_no)), extra) for i in items]
    ids = pa.array(
        [None if v.get(data.id_column) is None else str(v[data.id_column]) for v in values], pa.string()
    )
    present = pc.index_in(ids, value_set=pc.cast(table.column(data.id_column), pa.string()).combine_chunks())
    present_rows = table.column(ROW).to_numpy()
    carried: dict[int, Carried] = {}
    appended: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item, row_values, position in zip(items, values, present.to_pylist(), strict=True):
        key = row_values.get(data.id_column)
        if position is not None:
            row_no = int(present_rows[position])
            carried[row_no] = Carried(item.item_id, None, row_no, item.opened_at)
            continue
        if key is None or str(key) in seen:
            raise InputProblem(
                f"carried reconciling item {item.item_id} ({item.side}) has the id {key!r} of another "
                "carried "
                "item; ids must be unique on a side"
            )
        seen.add(str(key))
        row = -(len(appended) + 1)
        carried[row] = Carried(item.item_id, item.dataset_id, item.row_no, item.opened_at)
        appended.append({**row_values, ROW: row})
    if not appended:
        return data, carried
    amount_type = table.schema.field("amount").type
    scale = max([amount_type.scale, *(_scale(v.get("amount")) for v in appended)])
    if scale != amount_type.scale:
        widened = pc.cast(table.column("amount"), pa.decimal128(38, scale))
        table = table.set_column(table.schema.get_field_index("amount"), "amount", widened)
    columns = {
        name: pa.array([v.get(name) for v in appended], table.schema.field(name).type)
        for name in table.column_names
    }
    extra_rows = pa.table(columns, schema=table.schema)
    merged = pa.concat_tables([table, extra_rows])
    return SideInput(records=merged, rejected=data.rejected, id_column=data.id_column), carried


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


def run_engine(
    inputs: Inputs,
    progress: Callable[[ProgressEvent], None],
    temp_dir: str,
    memory_limit: str | None = None,
) -> Reconciliation:
    left, right = inputs.sides["left"], inputs.sides["right"]
    return reconcile(
        left.engine_table(),
        right.engine_table(),
        inputs.rules,
        left_rejected=left.rejected,
        right_rejected=right.rejected,
        temp_dir=temp_dir,
        memory_limit=memory_limit,
        progress=progress,
        backend=inputs.backend,
    )
