"""feeds, schedules and instant reconciliation

Revision ID: 0007_feeds_schedules
Revises: 0005_login_throttle

Tables: `feeds` (watched folders) and `feed_files` (objects seen, by key and change marker, with the dataset
made from each); `schedules` (cron + time zone and/or new-file triggers, the last fired slot); the open-item
books of instant reconciliation (`open_item_books`, `open_items`, `open_item_keys`: blocking keys, the
primary key is the lookup index) and `instant_requests` (answers kept for Idempotency-Key replays).
docs/feeds.md, docs/adr/0017-instant-reconciliation.md.
Create Date: 2026-12-06 11:55:43.176390
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import recon.models.types

revision: str = "0007_feeds_schedules"
down_revision: str | None = "0005_login_throttle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "open_item_keys",
        sa.Column(
            "book_id",
            sa.String(length=36).with_variant(sa.String(length=36, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("pass_no", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("book_id", "pass_no", "key", "row_no", name=op.f("pk_open_item_keys")),
    )
    op.create_table(
        "open_items",
        sa.Column(
            "book_id",
            sa.String(length=36).with_variant(sa.String(length=36, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("ext_id", sa.Text(), nullable=False),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("amount", recon.models.types.Money(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("counterparty", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("closed_at", recon.models.types.UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=36), nullable=True),
        sa.Column("matched_with", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("book_id", "row_no", name=op.f("pk_open_items")),
    )
    op.create_table(
        "feeds",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("mapping", recon.models.types.JSONDoc(), nullable=True),
        sa.Column("read_options", recon.models.types.JSONDoc(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.String(length=36), nullable=True),
        sa.Column("last_polled_at", recon.models.types.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", recon.models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", recon.models.types.UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_feeds_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_feeds_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feeds")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_feeds_project_id_name")),
        sa.UniqueConstraint("project_id", "path", name=op.f("uq_feeds_project_id_path")),
    )
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.create_index(
            "ix_feeds_project_id_created_at_id", ["project_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "instant_requests",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("book_id", sa.String(length=36), nullable=False),
        sa.Column("response", recon.models.types.JSONDoc(), nullable=False),
        sa.Column("created_at", recon.models.types.UTCDateTime(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_instant_requests_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_instant_requests_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instant_requests")),
        sa.UniqueConstraint(
            "project_id",
            "user_id",
            "idempotency_key",
            name=op.f("uq_instant_requests_project_id_user_id_idempotency_key"),
        ),
    )
    op.create_table(
        "feed_files",
        sa.Column("feed_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=1000), nullable=False),
        sa.Column("marker", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("dataset_id", sa.String(length=36), nullable=True),
        sa.Column("duplicate_of", sa.String(length=36), nullable=True),
        sa.Column("seen_at", recon.models.types.UTCDateTime(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_feed_files_dataset_id_datasets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name=op.f("fk_feed_files_feed_id_feeds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_files")),
        sa.UniqueConstraint("feed_id", "key", "marker", name=op.f("uq_feed_files_feed_id_key_marker")),
    )
    with op.batch_alter_table("feed_files", schema=None) as batch_op:
        batch_op.create_index("ix_feed_files_feed_id_seen_at_id", ["feed_id", "seen_at", "id"], unique=False)
        batch_op.create_index("ix_feed_files_feed_id_sha256", ["feed_id", "sha256"], unique=False)

    op.create_table(
        "open_item_books",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("ruleset_version_id", sa.String(length=36), nullable=False),
        sa.Column("side", sa.String(length=5), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("seeded_from_run_id", sa.String(length=36), nullable=True),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("open_items", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", recon.models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", recon.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_open_item_books_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_open_item_books_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ruleset_version_id"],
            ["ruleset_versions.id"],
            name=op.f("fk_open_item_books_ruleset_version_id_ruleset_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_item_books")),
        sa.UniqueConstraint(
            "dataset_id",
            "ruleset_version_id",
            "side",
            name=op.f("uq_open_item_books_dataset_id_ruleset_version_id_side"),
        ),
    )
    with op.batch_alter_table("open_item_books", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_open_item_books_project_id"), ["project_id"], unique=False)

    op.create_table(
        "schedules",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("cron", sa.String(length=200), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("on_new_file", sa.Boolean(), nullable=False),
        sa.Column("ruleset_id", sa.String(length=36), nullable=False),
        sa.Column("left_feed_id", sa.String(length=36), nullable=True),
        sa.Column("left_dataset_id", sa.String(length=36), nullable=True),
        sa.Column("right_feed_id", sa.String(length=36), nullable=True),
        sa.Column("right_dataset_id", sa.String(length=36), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.String(length=36), nullable=True),
        sa.Column("last_slot_at", recon.models.types.UTCDateTime(), nullable=True),
        sa.Column("last_inputs", recon.models.types.JSONDoc(), nullable=True),
        sa.Column("last_run_id", sa.String(length=36), nullable=True),
        sa.Column("last_fired_at", recon.models.types.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", recon.models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", recon.models.types.UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("cron IS NOT NULL OR on_new_file", name=op.f("ck_schedules_has_trigger")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_schedules_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["last_run_id"], ["runs.id"], name=op.f("fk_schedules_last_run_id_runs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["left_dataset_id"],
            ["datasets.id"],
            name=op.f("fk_schedules_left_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["left_feed_id"], ["feeds.id"], name=op.f("fk_schedules_left_feed_id_feeds"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_schedules_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["right_dataset_id"],
            ["datasets.id"],
            name=op.f("fk_schedules_right_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["right_feed_id"], ["feeds.id"], name=op.f("fk_schedules_right_feed_id_feeds"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ruleset_id"], ["rulesets.id"], name=op.f("fk_schedules_ruleset_id_rulesets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_schedules_project_id_name")),
    )
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_schedules_project_id_created_at_id", ["project_id", "created_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.drop_index("ix_schedules_project_id_created_at_id")

    op.drop_table("schedules")
    with op.batch_alter_table("open_item_books", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_open_item_books_project_id"))

    op.drop_table("open_item_books")
    with op.batch_alter_table("feed_files", schema=None) as batch_op:
        batch_op.drop_index("ix_feed_files_feed_id_sha256")
        batch_op.drop_index("ix_feed_files_feed_id_seen_at_id")

    op.drop_table("feed_files")
    op.drop_table("instant_requests")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_index("ix_feeds_project_id_created_at_id")

    op.drop_table("feeds")
    op.drop_table("open_items")
    op.drop_table("open_item_keys")
