"""match_groups: the (run_id, status, left_total, seq) index covers every status, matched included

Revision ID: 0010_list_indexes
Revises: 0009_run_backend

"Matched groups by amount" had no index (the amount index was partial, `status <> 'matched'`): every page of
it sorted the run's matched groups. The full index replaces the partial one (it serves the open statuses as
well), so a run's groups keep the same number of indexes (docs/adr/0026-lists-at-index-speed.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_list_indexes"
down_revision: str | None = "0009_run_backend"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["run_id", "status", "left_total", "seq"]
OPEN = "status <> 'matched'"


def upgrade() -> None:
    with op.batch_alter_table("match_groups", schema=None) as batch_op:
        batch_op.create_index("ix_match_groups_run_id_status_left_total_seq", COLUMNS, unique=False)
        batch_op.drop_index("ix_match_groups_run_id_status_left_total_seq_open")


def downgrade() -> None:
    with op.batch_alter_table("match_groups", schema=None) as batch_op:
        batch_op.create_index(
            "ix_match_groups_run_id_status_left_total_seq_open",
            COLUMNS,
            unique=False,
            postgresql_where=sa.text(OPEN),
            sqlite_where=sa.text(OPEN),
        )
        batch_op.drop_index("ix_match_groups_run_id_status_left_total_seq")
