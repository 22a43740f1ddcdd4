"""Bank statements imported into a project: one row per statement of an ingested statement file, so that a
statement imported twice (the same account, statement id and period) is refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from recon.core.time import utcnow
from recon.models.base import Base, IdMixin
from recon.models.types import Money, UTCDateTime


class BankStatement(IdMixin, Base):
    __tablename__ = "bank_statements"
    __table_args__ = (
        # The same statement (see recon.datasets.statements.fingerprint) lands once per project.
        UniqueConstraint("project_id", "fingerprint"),
        UniqueConstraint("dataset_id", "seq"),  # a dataset's statements in file order (keyset key)
    )

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)  # 1-based position of the statement in its file
    format: Mapped[str] = mapped_column(String(16))
    statement_id: Mapped[str] = mapped_column(Text)
    account: Mapped[str] = mapped_column(Text)
    currency: Mapped[str | None] = mapped_column(String(16), default=None)
    period_start: Mapped[dt.date | None] = mapped_column(Date, default=None)
    period_end: Mapped[dt.date | None] = mapped_column(Date, default=None)
    opening_balance: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    closing_balance: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    entries: Mapped[int] = mapped_column(Integer)
    amount_sum: Mapped[Decimal] = mapped_column(Money())
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
