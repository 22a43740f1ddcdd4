"""Reconciliation statements: the document an approver signs off (balance per bank and per books, reconciling
items by type, adjusted balances that agree, unexplained difference 0), kept as evidence.

One row per sign-off of a run: the canonical JSON document with its sha256 and the XLSX sheet rendered from it
(in object storage, with its sha256); both hashes are pinned in the `run.signed_off` audit event.
Reopening the
run withdraws its statement (the row stays, `withdrawn_at` set); signing off again makes a new one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from recon.models.base import Base, IdMixin, TimestampMixin
from recon.models.types import JSONDoc, UTCDateTime


class Statement(IdMixin, TimestampMixin, Base):
    __tablename__ = "statements"
    __table_args__ = (Index("ix_statements_run_id_created_at_id", "run_id", "created_at", "id"),)

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSONDoc())
    sha256: Mapped[str] = mapped_column(String(64))  # of the canonical JSON of `document`
    xlsx_key: Mapped[str | None] = mapped_column(String(300), default=None)
    xlsx_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    xlsx_size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    signed_off_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    withdrawn_by_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
