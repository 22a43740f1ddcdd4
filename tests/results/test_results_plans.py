"""Every exception list and its sorts is an index range scan (no sort of the run's rows): checked on the query
plans of the results repository's queries, on an empty migrated database (plans, not timings)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from recon.core.pagination import _segment, after_key, order_by
from recon.models.runs import GroupStatus, ItemState, Side
from recon.results.repository import (
    GROUP_ORDERS,
    ITEM_ORDERS,
    MEMBERS,
    GroupFilters,
    ItemFilters,
    filtered_groups,
    filtered_items,
    listed_keys,
    listed_matched,
    resolve,
    unlisted_groups,
)
from recon.results.schemas import GroupSort, ItemSort

TODAY = dt.date(2024, 3, 1)


def _plan(engine: Engine, query: object) -> str:
    with Session(engine) as session:
        connection = session.connection()
        compiled = query.compile(dialect=connection.dialect)  # type: ignore[attr-defined]
        raw, processors = compiled.construct_params(), compiled._bind_processors
        values = {n: processors[n](v) if n in processors else v for n, v in raw.items()}
        args = tuple(values[n] for n in compiled.positiontup)
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), args).all()
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("sort", list(ItemSort))
@pytest.mark.parametrize("state", [ItemState.UNMATCHED, ItemState.SUGGESTED, ItemState.PENDING])
def test_item_lists_use_the_open_indexes_on_sqlite(
    db_engine: Engine, sort: ItemSort, state: ItemState
) -> None:
    """SQLite uses a partial index only when the query repeats its predicate (see OPEN_ITEM)."""
    keys = resolve(ITEM_ORDERS, sort.value)
    stmt = filtered_items(
        select(*(k.column for k in keys)), "r1", ItemFilters(side=Side.LEFT, state=state), TODAY
    )
    plan = _plan(db_engine, _segment(stmt, keys, False, None).limit(101))
    assert "_open" in plan and "TEMP B-TREE" not in plan, plan


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("sort", list(GroupSort))
@pytest.mark.parametrize("status", [GroupStatus.SUGGESTED, GroupStatus.BREAK])
def test_exception_group_lists_are_index_scans_on_sqlite(
    db_engine: Engine, sort: GroupSort, status: GroupStatus
) -> None:
    keys = resolve(GROUP_ORDERS, sort.value)
    stmt = filtered_groups(select(*(k.column for k in keys)), "r1", GroupFilters(status=(status,)), TODAY)
    plan = _plan(db_engine, _segment(stmt, keys, False, None).limit(101))
    assert "TEMP B-TREE" not in plan, plan


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("sort", [GroupSort.AMOUNT, GroupSort.AMOUNT_DESC])
@pytest.mark.parametrize("status", [GroupStatus.MATCHED, GroupStatus.SUGGESTED, GroupStatus.BREAK])
@pytest.mark.parametrize("deep", [False, True])
def test_group_lists_by_amount_are_index_scans_in_every_status(
    db_engine: Engine, sort: GroupSort, status: GroupStatus, deep: bool
) -> None:
    """Matched groups by amount included: the groups the partial amount index holds, and the matched ones
    that matched_group_amounts lists (docs/adr/0031), each an index range scan."""
    keys = resolve(GROUP_ORDERS, sort.value)
    after = [Decimal("12.50"), 7] if deep else None
    filters = GroupFilters(status=(status,))
    plan = _plan(db_engine, _segment(unlisted_groups("r1", filters, TODAY), keys, False, after).limit(101))
    assert "ix_match_groups_run_id_status_left_total_seq_unlisted" in plan and "TEMP B-TREE" not in plan, plan
    listed = listed_matched("r1", filters, TODAY)
    if status != GroupStatus.MATCHED:
        assert listed is None
        return
    on_amounts = listed_keys(keys)
    if after is not None:
        listed = listed.where(after_key(on_amounts, after))
    plan = _plan(db_engine, listed.order_by(*order_by(on_amounts)).limit(101))
    assert "matched_group_amounts USING PRIMARY KEY" in plan and "TEMP B-TREE" not in plan, plan


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_members_of_a_page_are_read_in_order_from_the_index(db_engine: Engine) -> None:
    """One seek per group in the members' index, rows handed over in the page's order: no sort of them."""
    stmt, bound = MEMBERS["sqlite"]
    plan = _plan(db_engine, stmt.params(run_id="r1", group_ids=bound([3, 1, 2])))
    assert "ix_run_items_run_id_group_id_side_row_no" in plan and "TEMP B-TREE" not in plan, plan
