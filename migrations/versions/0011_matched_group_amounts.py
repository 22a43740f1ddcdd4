"""matched_group_amounts: the engine's matched groups in amount order; the groups' amount index partial again

Revision ID: 0011_matched_group_amounts
Revises: 0010_list_indexes

The full (run_id, status, left_total, seq) index of match_groups took one entry per group at a random place
(~0.5 s CPU per 100k groups of a run's persist, docs/adr/0030). It now holds every group but those listed in
the new matched_group_amounts table while they are matched (`status <> 'matched' OR NOT amount_listed`); a
run's persist writes that table in amount order. Existing groups are unlisted (amount_listed false): the
partial index holds all of them, so their lists by amount stay index scans without a backfill
(docs/adr/0031-matched-groups-by-amount-beside-the-groups.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa

import recon.models.types
from alembic import op

revision: str = "0011_matched_group_amounts"
down_revision: str | None = "0010_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["run_id", "status", "left_total", "seq"]
UNLISTED = "status <> 'matched' OR NOT amount_listed"
FULL = "ix_match_groups_run_id_status_left_total_seq"
PARTIAL = "ix_match_groups_run_id_status_left_total_seq_unlisted"


def upgrade() -> None:
    run_key = sa.String(length=36).with_variant(sa.String(length=36, collation="C"), "postgresql")
    op.create_table(
        "matched_group_amounts",
        sa.Column("run_id", run_key, nullable=False),
        sa.Column("left_total", recon.models.types.Money(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "left_total", "seq", name=op.f("pk_matched_group_amounts")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("match_groups", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("amount_listed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.drop_index(FULL)
        batch_op.create_index(
            PARTIAL, COLUMNS, unique=False, postgresql_where=sa.text(UNLISTED), sqlite_where=sa.text(UNLISTED)
        )


def downgrade() -> None:
    with op.batch_alter_table("match_groups", schema=None) as batch_op:
        batch_op.drop_index(PARTIAL)
        batch_op.create_index(FULL, COLUMNS, unique=False)
        batch_op.drop_column("amount_listed")
    op.drop_table("matched_group_amounts")
