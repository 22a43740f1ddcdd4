"""instant reconciliation: closes in their own table, answers kept as text

Revision ID: 0008_instant_book
Revises: 0007_feeds_schedules

`open_item_closes` (book, row, request, time; the primary key makes an item close at most once) replaces the
`closed_at` / `closed_by` / `matched_with` columns of `open_items`: a request inserts its ~10,000 closes into a
few pages instead of updating one page per item scattered over a book of 1M items. `instant_requests.response`
becomes text: the answer is encoded once and replayed byte for byte (docs/adr/0017-instant-reconciliation.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import recon.models.types

revision: str = "0008_instant_book"
down_revision: str | None = "0007_feeds_schedules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BOOK_ID = sa.String(length=36).with_variant(sa.String(length=36, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "open_item_closes",
        sa.Column("book_id", BOOK_ID, nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("closed_at", recon.models.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("book_id", "row_no", name=op.f("pk_open_item_closes")),
    )
    op.execute(
        "INSERT INTO open_item_closes (book_id, row_no, request_id, closed_at) "
        "SELECT book_id, row_no, coalesce(closed_by, ''), closed_at FROM open_items WHERE closed_at IS NOT NULL"
    )
    with op.batch_alter_table("open_items", schema=None) as batch_op:
        batch_op.drop_column("matched_with")
        batch_op.drop_column("closed_by")
        batch_op.drop_column("closed_at")
    with op.batch_alter_table("instant_requests", schema=None) as batch_op:
        batch_op.alter_column(
            "response",
            existing_type=recon.models.types.JSONDoc(),
            type_=sa.Text(),
            existing_nullable=False,
            postgresql_using="response::text",
        )


def downgrade() -> None:
    with op.batch_alter_table("instant_requests", schema=None) as batch_op:
        batch_op.alter_column(
            "response",
            existing_type=sa.Text(),
            type_=recon.models.types.JSONDoc(),
            existing_nullable=False,
            postgresql_using="response::jsonb",
        )
    with op.batch_alter_table("open_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", recon.models.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("closed_by", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("matched_with", sa.Text(), nullable=True))
    op.execute(
        "UPDATE open_items SET closed_at = (SELECT c.closed_at FROM open_item_closes c "
        "WHERE c.book_id = open_items.book_id AND c.row_no = open_items.row_no), "
        "closed_by = (SELECT c.request_id FROM open_item_closes c "
        "WHERE c.book_id = open_items.book_id AND c.row_no = open_items.row_no)"
    )
    op.drop_table("open_item_closes")
