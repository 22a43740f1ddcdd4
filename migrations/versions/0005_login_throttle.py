"""login throttle: password checks counted per account and per client address + account

Revision ID: 0005_login_throttle
Revises: 0004_month_end_close
Create Date: 2026-12-06

One table, `login_throttle` (docs/adr/0011-hostile-input.md): a row per throttle key with its failures in the
current window and the moment the next password check is allowed. The users' `failed_logins` stays as an
informational count; `locked_until` is no longer read.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import recon.models.types

revision: str = "0005_login_throttle"
down_revision: str | None = "0004_month_end_close"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", recon.models.types.UTCDateTime(), nullable=False),
        sa.Column("blocked_until", recon.models.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    op.create_index(
        op.f("ix_login_throttle_window_started_at"), "login_throttle", ["window_started_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_login_throttle_window_started_at"), table_name="login_throttle")
    op.drop_table("login_throttle")
