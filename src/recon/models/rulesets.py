"""Rule sets: a named rule set of a project and its immutable, numbered versions (rule language v1 text)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from recon.core.time import utcnow
from recon.models.base import Base, IdMixin, TimestampMixin
from recon.models.types import UTCDateTime


class RuleSet(IdMixin, TimestampMixin, Base):
    __tablename__ = "rulesets"
    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        Index("ix_rulesets_project_id_created_at_id", "project_id", "created_at", "id"),
        # Idempotency-Key: the same key from the same user in a project names one rule set.
        UniqueConstraint("project_id", "created_by_id", "idempotency_key"),
    )

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Number of the newest version; bumped by an atomic UPDATE that also serialises concurrent saves.
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)


class RuleSetVersion(IdMixin, Base):
    """Never updated: a run pins (ruleset_id, version) and re-executes exactly this text (sha256)."""

    __tablename__ = "ruleset_versions"
    __table_args__ = (
        UniqueConstraint("ruleset_id", "version"),
        UniqueConstraint("ruleset_id", "created_by_id", "idempotency_key"),
        CheckConstraint("format IN ('yaml', 'json')", name="format_valid"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    ruleset_id: Mapped[str] = mapped_column(ForeignKey("rulesets.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(8))
    sha256: Mapped[str] = mapped_column(String(64))
    # The `name:` inside the rules text (what summaries report as rules.name).
    rules_name: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
