"""Instant reconciliation (docs/adr/0017-instant-reconciliation.md): the open items of a dataset indexed for
one rule-set version (a book), their blocking keys, and the answered requests (Idempotency-Key replays).

Bulk tables (open_items, open_item_keys: one row per record and pass, open_item_closes) have no foreign keys
on `book_id`, like the records and results tables: the book and its rows are written and deleted together by
the code."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from recon.models.base import Base, IdMixin, TimestampMixin
from recon.models.datasets import RecordMixin
from recon.models.runs import RunKey
from recon.models.types import EnumText, UTCDateTime


class BookStatus(enum.StrEnum):
    BUILDING = "building"  # a job fills it (datasets above INSTANT_INLINE_INDEX_ROWS)
    READY = "ready"
    FAILED = "failed"  # rebuilt on the next request


class OpenItemBook(IdMixin, TimestampMixin, Base):
    """The open items of `dataset_id` (one side of `ruleset_version_id`), indexed by that version's blocking
    keys. Seeded from the dataset's latest succeeded run (its items not matched) or, without one, from all
    its records; instant requests close the items they match."""

    __tablename__ = "open_item_books"
    __table_args__ = (UniqueConstraint("dataset_id", "ruleset_version_id", "side"),)

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    ruleset_version_id: Mapped[str] = mapped_column(ForeignKey("ruleset_versions.id", ondelete="CASCADE"))
    side: Mapped[str] = mapped_column(String(5))  # the dataset's side in the rule set
    status: Mapped[BookStatus] = mapped_column(EnumText(BookStatus, 16), default=BookStatus.READY)
    job_id: Mapped[str | None] = mapped_column(String(36), default=None)
    seeded_from_run_id: Mapped[str | None] = mapped_column(String(36), default=None)
    items: Mapped[int] = mapped_column(Integer, default=0)
    open_items: Mapped[int] = mapped_column(Integer, default=0)


class OpenItem(Base, RecordMixin):
    __tablename__ = "open_items"

    book_id: Mapped[str] = mapped_column(RunKey, primary_key=True)  # open_item_books.id; no FK (docstring)
    row_no: Mapped[int] = mapped_column(Integer, primary_key=True)  # the record's row in its dataset


class OpenItemClose(Base):
    """An open item closed by an instant request. Closes are inserted here (a few pages per request) rather
    than updating `open_items` in place (one page per closed item, scattered over the whole book); the
    primary key makes a second close of the same item a conflict, so an item closes at most once."""

    __tablename__ = "open_item_closes"

    book_id: Mapped[str] = mapped_column(RunKey, primary_key=True)
    row_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(36))  # instant_requests.id
    closed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class OpenItemKey(Base):
    """The blocking key of an open item for one pass (the primary key is the lookup index); a lookup skips
    the items with a row in `open_item_closes`."""

    __tablename__ = "open_item_keys"

    book_id: Mapped[str] = mapped_column(RunKey, primary_key=True)
    pass_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(Text().with_variant(Text(collation="C"), "postgresql"), primary_key=True)
    row_no: Mapped[int] = mapped_column(Integer, primary_key=True)


class InstantRequest(IdMixin, Base):
    """An answered instant reconciliation: a retry with the same Idempotency-Key gets `response` again, the
    very JSON text first sent (kept as text: encoded once, not parsed again into JSONB)."""

    __tablename__ = "instant_requests"
    __table_args__ = (UniqueConstraint("project_id", "user_id", "idempotency_key"),)

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    request_sha256: Mapped[str] = mapped_column(String(64))
    book_id: Mapped[str] = mapped_column(String(36))
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
