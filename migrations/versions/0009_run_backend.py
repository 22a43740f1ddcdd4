"""runs.backend: the engine backend a run executes on

Revision ID: 0009_run_backend
Revises: 0008_instant_book

A run is executed by the DuckDB backend (default) or, when created with "backend": "spark", by the Spark
backend (docs/adr/0019-spark-backend.md, docs/scaling.md). Existing runs ran on DuckDB: the column is
non-null with the server default 'duckdb'.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_run_backend"
down_revision: str | None = "0008_instant_book"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("backend", sa.String(length=16), server_default="duckdb", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("backend")
