"""Feeds (a watched folder of a project in the feeds store), the files they ingested, and schedules (cron or
new-file triggers that start runs). See docs/feeds.md."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from recon.models.base import Base, IdMixin, TimestampMixin, VersionMixin
from recon.models.types import JSONDoc, UTCDateTime


class Feed(IdMixin, TimestampMixin, VersionMixin, Base):
    """A folder `<project id>/<path>/` of the feeds store (FEEDS_DIR or FEEDS_S3_BUCKET) polled by workers;
    every new file becomes a dataset (through the datasets upload service) once per content."""

    __tablename__ = "feeds"
    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        UniqueConstraint("project_id", "path"),
        Index("ix_feeds_project_id_created_at_id", "project_id", "created_at", "id"),
    )

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(300))
    mapping: Mapped[dict[str, str] | None] = mapped_column(JSONDoc(), default=None)
    read_options: Mapped[dict[str, object] | None] = mapped_column(JSONDoc(), default=None)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Whose name the datasets and runs are created in (the creator of the feed).
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_polled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class FeedFile(IdMixin, Base):
    """One object seen in a feed's folder, by key and change marker (ETag / size+mtime). `dataset_id` is the
    dataset made from it, None when the same content was already ingested by the feed (`duplicate_of`)."""

    __tablename__ = "feed_files"
    __table_args__ = (
        UniqueConstraint("feed_id", "key", "marker"),
        Index("ix_feed_files_feed_id_sha256", "feed_id", "sha256"),
        Index("ix_feed_files_feed_id_seen_at_id", "feed_id", "seen_at", "id"),
    )

    feed_id: Mapped[str] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(1000))
    marker: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    dataset_id: Mapped[str | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    duplicate_of: Mapped[str | None] = mapped_column(String(36), default=None)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Schedule(IdMixin, TimestampMixin, VersionMixin, Base):
    """Starts a run of `ruleset_id` (its newest version when it fires) on two sources, each a feed (its newest
    ready dataset) or a fixed dataset: at the slots of `cron` in `timezone`, and/or when a feed source has a
    new ready dataset (`on_new_file`). Only the latest due slot fires (`last_slot_at`), never one per missed
    slot."""

    __tablename__ = "schedules"
    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        Index("ix_schedules_project_id_created_at_id", "project_id", "created_at", "id"),
        CheckConstraint("cron IS NOT NULL OR on_new_file", name="has_trigger"),
    )

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    cron: Mapped[str | None] = mapped_column(String(200), default=None)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    on_new_file: Mapped[bool] = mapped_column(Boolean, default=False)
    ruleset_id: Mapped[str] = mapped_column(ForeignKey("rulesets.id", ondelete="CASCADE"))
    left_feed_id: Mapped[str | None] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    left_dataset_id: Mapped[str | None] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    right_feed_id: Mapped[str | None] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    right_dataset_id: Mapped[str | None] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The cron slot (UTC) that fired last; a tick fires the latest due slot after it, once.
    last_slot_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The (left, right) dataset ids of the last run started, so a new-file trigger fires once per new input.
    last_inputs: Mapped[list[str | None] | None] = mapped_column(JSONDoc(), default=None)
    last_run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"), default=None)
    last_fired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
