"""results storage: group explanations as `json` on PostgreSQL

Revision ID: 0009_results_indexes
Revises: 0008_instant_book
Create Date: 2026-12-06

`match_groups.explanation` becomes `json` (stored as its text) instead of `jsonb` on PostgreSQL: converting
~0.9M explanations to JSONB was ~40% of the groups' COPY of a 1M x 1M run, and nothing searches inside them
(docs/adr/0016-results-lists-and-storage.md). SQLite stores JSON as text already: nothing to do there. The
revision keeps the name the issue's plan gave it; measured, no new index paid for itself (see the ADR).
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_results_indexes"
down_revision: str | None = "0008_instant_book"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "match_groups",
            "explanation",
            type_=postgresql.JSON(),
            existing_type=postgresql.JSONB(),
            existing_nullable=False,
            postgresql_using="explanation::json",
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "match_groups",
            "explanation",
            type_=postgresql.JSONB(),
            existing_type=postgresql.JSON(),
            existing_nullable=False,
            postgresql_using="explanation::jsonb",
        )
