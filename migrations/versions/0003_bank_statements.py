"""bank statements: the statements of imported statement files, one per project and fingerprint

Revision ID: 0003_bank_statements
Revises: 0002_audit_guard
Create Date: 2026-12-01

Self-contained: creates and drops only its own table (the lead may re-chain down_revision when merging).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import recon.models.types

revision: str = "0003_bank_statements"
down_revision: str | None = "0002_audit_guard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bank_statements",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("statement_id", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=16), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("opening_balance", recon.models.types.Money(), nullable=True),
        sa.Column("closing_balance", recon.models.types.Money(), nullable=True),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("amount_sum", recon.models.types.Money(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", recon.models.types.UTCDateTime(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_bank_statements_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_bank_statements_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statements")),
        sa.UniqueConstraint("dataset_id", "seq", name=op.f("uq_bank_statements_dataset_id_seq")),
        sa.UniqueConstraint("project_id", "fingerprint", name=op.f("uq_bank_statements_project_id_fingerprint")),
    )


def downgrade() -> None:
    op.drop_table("bank_statements")
