"""Carrying reconciling items into the next period's run.

A run created with `carry_forward_from` (a signed-off run of the project) takes that run's reconciling items
as open records of their side: each is matched like any record of the period (a deposit in transit meets
the bank line that clears it). A carried record keeps its first appearance (`opened_at`, so it ages from
then), points at the item it continues (`carried_from_id`) and at the dataset row it comes from.

A carried item whose id (the side's id column) is also in the side's new dataset is the same record exported
again (a cumulative ledger export): it is not added twice; the dataset's record continues it instead.

The set of carried items is pinned by a digest at run creation (like the datasets' sha256): reopening the
earlier run and changing its explanations makes the run refuse to execute instead of using other inputs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from recon.core.responses import attributes
from recon.models import DatasetRecord, Run, RunItem
from recon.models.runs import ItemState


@dataclass(frozen=True)
class CarriedItem:
    item_id: int
    side: str
    ext_id: str | None
    amount: Decimal | None
    currency: str | None
    dataset_id: str  # where its record lives
    row_no: int
    opened_at: Any


def carried_items(session: Session, source: Run) -> list[CarriedItem]:
    """The reconciling items of `source`, by side and id."""
    rows: Sequence[Any] = session.execute(
        select(
            RunItem.id,
            RunItem.side,
            RunItem.ext_id,
            RunItem.amount,
            RunItem.currency,
            RunItem.origin_dataset_id,
            RunItem.row_no,
            RunItem.opened_at,
        )
        .where(RunItem.run_id == source.id, RunItem.state == ItemState.RECONCILING)
        .order_by(RunItem.side, RunItem.id)
    ).all()
    found = []
    for row in rows:
        dataset_id = row.origin_dataset_id or (
            source.left_dataset_id if row.side == "left" else source.right_dataset_id
        )
        found.append(
            CarriedItem(
                item_id=row.id,
                dataset_id=dataset_id,
                **attributes(row, "side", "ext_id", "amount", "currency", "row_no", "opened_at"),
            )
        )
    return found


def carry_digest(items: Sequence[CarriedItem]) -> str:
    """sha256 over what the carried items are: ids, sides, record ids, amounts and their origin rows."""
    hasher = hashlib.sha256()
    for item in items:
        amount = None if item.amount is None else format(item.amount.normalize(), "f")
        line = [item.item_id, item.side, item.ext_id, amount, item.currency, item.dataset_id, item.row_no]
        hasher.update(json.dumps(line, separators=(",", ":")).encode() + b"\n")
    return hasher.hexdigest()


def origin_records(session: Session, items: Sequence[CarriedItem]) -> dict[tuple[str, int], DatasetRecord]:
    """The dataset records the carried items come from, by (dataset id, row_no)."""
    keys = sorted({(i.dataset_id, i.row_no) for i in items})
    found: dict[tuple[str, int], DatasetRecord] = {}
    for offset in range(0, len(keys), 500):
        chunk = keys[offset : offset + 500]
        stmt = select(DatasetRecord).where(tuple_(DatasetRecord.dataset_id, DatasetRecord.row_no).in_(chunk))
        for record in session.scalars(stmt):
            found[(record.dataset_id, record.row_no)] = record
    return found
