"""`load_dataset_arrow` on SQLite reads records as JSON lines rendered by SQLite: texts with quotes,
backslashes, control characters, newlines and non-ASCII come back exactly, over several batches, in file
order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from recon.core.db import SessionFactory, session_scope
from recon.core.money import from_sortable_text
from recon.datasets import bulk, load_dataset_arrow
from recon.models import Dataset, Project, User

pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)

AWKWARD = [
    'say "hi", then \\ go',
    "tab\there",
    "line\nbreak",
    "Ümläut ✓ 😀",
    '{"looks": "like json"}',
    "",
    "back\\slash\\",
]


def test_awkward_texts_over_several_batches(
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    upload: Callable[..., Any],
    wait_dataset: Callable[..., dict[str, Any]],
    session_factory: SessionFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    lines = ["id,date,amount,currency,reference,description,branch"]
    for n, value in enumerate(AWKWARD * 3, start=1):
        quoted = '"' + value.replace('"', '""') + '"'
        amount = f"-{n}.05" if n % 2 else f"{n * 1000}.5"
        lines.append(f"R{n},2024-02-{n:02d},{amount},EUR,{quoted},{quoted},b{n}")
    created = upload(preparer, project, ("\n".join(lines) + "\n").encode()).json()
    ready = wait_dataset(preparer, project.id, created["id"])
    assert ready["rows"] == len(AWKWARD) * 3, ready

    monkeypatch.setattr(bulk, "FETCH_BATCH_ROWS", 4)  # 21 records: 6 batches
    with session_scope(session_factory) as session:
        dataset = session.get(Dataset, created["id"])
        assert dataset is not None
        table = load_dataset_arrow(session, dataset, with_row_no=True)
        stored = session.execute(
            text(
                "SELECT row_no, ext_id, date, amount, reference, description, extra FROM dataset_records"
                " WHERE dataset_id = :d ORDER BY row_no"
            ),
            {"d": dataset.id},
        ).all()

    assert table.num_rows == len(stored) == len(AWKWARD) * 3
    assert table.column("_row").to_pylist() == [row.row_no for row in stored]
    assert table.column("id").to_pylist() == [row.ext_id for row in stored]
    assert table.column("date").to_pylist() == [dt.date.fromisoformat(row.date) for row in stored]
    assert table.column("amount").to_pylist() == [from_sortable_text(row.amount) for row in stored]
    assert table.column("reference").to_pylist() == [row.reference for row in stored]
    assert table.column("description").to_pylist() == [row.description for row in stored]
    assert table.column("branch").to_pylist() == [f"b{n}" for n in range(1, len(AWKWARD) * 3 + 1)]
    assert table.column("amount").to_pylist()[:2] == [Decimal("-1.05"), Decimal("2000.50")]
    # the awkward texts themselves survived ingest and the read (empty text may be stored as NULL)
    first = table.column("reference").to_pylist()[: len(AWKWARD)]
    assert [v for v in first if v] == [a for a in AWKWARD if a]
