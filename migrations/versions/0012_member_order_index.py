"""run_items: the members' index in the order a group shows them, (run_id, group_id, side, row_no)

Revision ID: 0012_member_order_index
Revises: 0011_matched_group_amounts

A page of groups reads its members by `group_id IN (...) ORDER BY group_id, side, row_no`. With the index on
(run_id, group_id) SQLite sorted each group's rows in a temporary B-tree (PostgreSQL a sort of the page's
members); the index in the full order hands them over sorted. It replaces the old one (same leading columns:
every other use of it is unchanged), so a run's items keep the same number of indexes
(docs/adr/0026-lists-at-index-speed.md, 2026-12-07).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_member_order_index"
down_revision: str | None = "0011_matched_group_amounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "ix_run_items_run_id_group_id"
NEW = "ix_run_items_run_id_group_id_side_row_no"


def upgrade() -> None:
    with op.batch_alter_table("run_items", schema=None) as batch_op:
        batch_op.create_index(NEW, ["run_id", "group_id", "side", "row_no"], unique=False)
        batch_op.drop_index(OLD)


def downgrade() -> None:
    with op.batch_alter_table("run_items", schema=None) as batch_op:
        batch_op.create_index(OLD, ["run_id", "group_id"], unique=False)
        batch_op.drop_index(NEW)
