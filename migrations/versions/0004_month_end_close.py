"""month-end close: exact money on SQLite, reconciling items, periods, statements, invitations

Revision ID: 0004_month_end_close
Revises: 0003_bank_statements
Create Date: 2026-12-01

Hand-written, self-contained:
- SQLite money columns hold exact sortable text instead of floats (docs/adr/0006-exact-money-on-sqlite.md):
  existing values are rewritten in place (the declared type, NUMERIC(38, 10), stays).
- New group status / item state `reconciling`, decision kind `reconciling_item` (CHECK constraints; SQLite
  rebuilds those tables, keeping their partial indexes).
- Run period columns (period, bank side, carried-from run and digest, opening/closing balances), group
  currency and reconciling type, carried items, decision currency and reconciling type, dataset column
  statistics, export options; tables `statements` and `user_invitations`.
"""

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

import sqlalchemy as sa
from alembic import op

import recon.models.types

revision: str = "0004_month_end_close"
down_revision: str | None = "0003_bank_statements"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY_COLUMNS = {
    "dataset_records": ("amount",),
    "run_items": ("amount",),
    "match_groups": ("left_total", "right_total", "difference", "writeoff_amount"),
    "decisions": ("left_total", "right_total", "difference"),
    "bank_statements": ("opening_balance", "closing_balance", "amount_sum"),
}
GROUP_STATUS = "'matched', 'suggested', 'break', 'pending_approval', 'rejected', 'unmatched'"
ITEM_STATE = "'matched', 'suggested', 'break', 'unmatched', 'pending'"
DECISION_KIND = "'confirm', 'reject', 'manual_match', 'unmatch', 'writeoff'"
CHECKS = {
    # table: (constraint, column, values before, values after)
    "match_groups": ("ck_match_groups_status_valid", "status", GROUP_STATUS, GROUP_STATUS + ", 'reconciling'"),
    "run_items": ("ck_run_items_state_valid", "state", ITEM_STATE, ITEM_STATE + ", 'reconciling'"),
    "decisions": ("ck_decisions_kind_valid", "kind", DECISION_KIND, DECISION_KIND + ", 'reconciling_item'"),
}


def _sortable(value: object) -> str | None:
    """A stored SQLite money value (float or text) as exact sortable text (recon.core.money.sortable_text,
    copied here so the migration keeps meaning what it meant)."""
    if value is None:
        return None
    if isinstance(value, str) and value[:1] in ("N", "P") and len(value) == 40:
        return value  # already converted
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    with localcontext(Context(prec=60)):
        units = int(number.quantize(Decimal("1E-10"), rounding=ROUND_HALF_UP).scaleb(10))
    limit = 10**38
    prefix, digits = ("P", f"{units:038d}") if units >= 0 else ("N", f"{limit + units:038d}")
    return f"{prefix}{digits[:28]}.{digits[28:]}"


def _float_money(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, str) and value[:1] in ("N", "P") and len(value) == 40:
        units = int(value[1:29] + value[30:])
        if value[0] == "N":
            units -= 10**38
        with localcontext(Context(prec=60)):
            return float(Decimal(units).scaleb(-10))
    return float(value)  # type: ignore[arg-type]


def _rewrite_money(to_text: bool) -> None:
    bind = op.get_bind()
    driver = bind.connection.driver_connection
    function = _sortable if to_text else _float_money
    driver.create_function("recon_money_migrate", 1, function)  # type: ignore[union-attr]
    for table, columns in MONEY_COLUMNS.items():
        for column in columns:
            op.execute(f"UPDATE {table} SET {column} = recon_money_migrate({column}) WHERE {column} IS NOT NULL")


def _checks(after: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, (name, column, before, later) in CHECKS.items():
        values = later if after else before
        with op.batch_alter_table(table, recreate="always" if sqlite else "auto") as batch:
            batch.drop_constraint(op.f(name), type_="check")
            batch.create_check_constraint(op.f(name), f"{column} IN ({values})")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _rewrite_money(to_text=True)
    _checks(after=True)

    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("period_start", sa.Date(), nullable=True))
        batch.add_column(sa.Column("period_end", sa.Date(), nullable=True))
        batch.add_column(sa.Column("bank_side", sa.String(length=5), server_default="right", nullable=False))
        batch.add_column(sa.Column("carried_from_run_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("carry_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("opening_balances", recon.models.types.JSONDoc(), nullable=True))
        batch.add_column(sa.Column("closing_balances", recon.models.types.JSONDoc(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_runs_carried_from_run_id_runs"), "runs", ["carried_from_run_id"], ["id"], ondelete="SET NULL"
        )
    with op.batch_alter_table("match_groups") as batch:
        batch.add_column(sa.Column("currency", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reconciling_type", sa.String(length=32), nullable=True))
    with op.batch_alter_table("run_items") as batch:
        batch.add_column(sa.Column("carried_from_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite")))
        batch.add_column(sa.Column("origin_dataset_id", sa.String(length=36), nullable=True))
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("reconciling_type", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("currency", sa.Text(), nullable=True))
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("column_stats", recon.models.types.JSONDoc(), nullable=True))
    with op.batch_alter_table("exports") as batch:
        batch.add_column(sa.Column("options", recon.models.types.JSONDoc(), nullable=True))

    op.create_table(
        "statements",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("document", recon.models.types.JSONDoc(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("xlsx_key", sa.String(length=300), nullable=True),
        sa.Column("xlsx_sha256", sa.String(length=64), nullable=True),
        sa.Column("xlsx_size", sa.BigInteger(), nullable=True),
        sa.Column("signed_off_by_id", sa.String(length=36), nullable=True),
        sa.Column("withdrawn_at", recon.models.types.UTCDateTime(), nullable=True),
        sa.Column("withdrawn_by_id", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", recon.models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", recon.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_statements_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_statements_run_id_runs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["signed_off_by_id"], ["users.id"], name=op.f("fk_statements_signed_off_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["withdrawn_by_id"], ["users.id"], name=op.f("fk_statements_withdrawn_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
    )
    op.create_index("ix_statements_run_id_created_at_id", "statements", ["run_id", "created_at", "id"])
    op.create_index(op.f("ix_statements_project_id"), "statements", ["project_id"])

    op.create_table(
        "user_invitations",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.String(length=36), nullable=True),
        sa.Column("expires_at", recon.models.types.UTCDateTime(), nullable=False),
        sa.Column("accepted_at", recon.models.types.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", recon.models.types.UTCDateTime(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", recon.models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", recon.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_user_invitations_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_invitations_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_invitations_token_hash")),
    )
    op.create_index(op.f("ix_user_invitations_user_id"), "user_invitations", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_user_invitations_user_id"), table_name="user_invitations")
    op.drop_table("user_invitations")
    op.drop_index(op.f("ix_statements_project_id"), table_name="statements")
    op.drop_index("ix_statements_run_id_created_at_id", table_name="statements")
    op.drop_table("statements")
    for table, columns in (
        ("exports", ("options",)),
        ("datasets", ("column_stats",)),
        ("decisions", ("reconciling_type", "currency")),
        ("run_items", ("carried_from_id", "origin_dataset_id")),
        ("match_groups", ("currency", "reconciling_type")),
    ):
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_column(column)
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint(op.f("fk_runs_carried_from_run_id_runs"), type_="foreignkey")
        for column in (
            "period_start",
            "period_end",
            "bank_side",
            "carried_from_run_id",
            "carry_sha256",
            "opening_balances",
            "closing_balances",
        ):
            batch.drop_column(column)
    _checks(after=False)
    if op.get_bind().dialect.name == "sqlite":
        _rewrite_money(to_text=False)
