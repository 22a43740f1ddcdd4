"""Review of a run's results: decisions (maker-checker), comments, and the write-off reason codes.

A decision records one manual change of a run's results (confirm or reject a suggestion, manual match,
unmatch, write-off) by its maker. With the project's `require_approval` (default) it waits in
`pending_approval` -- its group in status pending_approval, its records in state `pending` -- until an
approver who is not the maker approves (the change takes effect: `approved`) or rejects it (everything goes
back: `rejected`). Without approval it takes effect at once (`applied`). See recon.review.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from recon.core.time import utcnow
from recon.models.base import Base, IdMixin, TimestampMixin, VersionMixin
from recon.models.runs import BigId, ReconcilingType
from recon.models.types import EnumText, JSONDoc, Money, UTCDateTime, one_of

# Offered when a project configures none (project settings `writeoff_reasons`).
DEFAULT_WRITEOFF_REASONS = ("bank_fee", "fx_rounding", "timing", "small_difference", "other")


class DecisionKind(enum.StrEnum):
    CONFIRM = "confirm"  # a suggested group becomes matched
    REJECT = "reject"  # a suggested group is dissolved; its records go back to unmatched
    MANUAL_MATCH = "manual_match"  # unmatched records of both sides become a manual group
    UNMATCH = "unmatch"  # a matched (or break) group is dissolved
    WRITEOFF = "writeoff"  # a break, or unmatched records, closed with a reason code
    RECONCILING_ITEM = "reconciling_item"  # an unmatched record explained as a reconciling item


class DecisionStatus(enum.StrEnum):
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"  # approved by a checker, and so in effect
    REJECTED = "rejected"  # rejected by a checker; nothing changed
    APPLIED = "applied"  # in effect without approval (project setting require_approval = false)

    @property
    def in_effect(self) -> bool:
        return self in {DecisionStatus.APPROVED, DecisionStatus.APPLIED}


class CommentTarget(enum.StrEnum):
    GROUP = "group"
    ITEM = "item"


class Decision(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "decisions"
    __table_args__ = (
        one_of("kind", DecisionKind),
        one_of("status", DecisionStatus),
        Index("ix_decisions_project_id_created_at_id", "project_id", "created_at", "id"),
        Index("ix_decisions_project_id_status_created_at_id", "project_id", "status", "created_at", "id"),
        Index("ix_decisions_run_id_status", "run_id", "status"),
    )

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[DecisionKind] = mapped_column(EnumText(DecisionKind, 16))
    status: Mapped[DecisionStatus] = mapped_column(EnumText(DecisionStatus, 16))
    # The group decided on; for manual_match and item write-offs the group the decision created: a
    # match_groups.id without a foreign key (on PostgreSQL match_groups is partitioned by run, its key is
    # (run_id, id), docs/adr/0038); the decision's run_id names the run, and a succeeded run's groups stay.
    group_id: Mapped[int | None] = mapped_column(BigId, default=None, index=True)
    item_ids: Mapped[list[int]] = mapped_column(JSONDoc(), default=list)  # the records concerned
    maker_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    comment: Mapped[str] = mapped_column(Text, default="")
    reason_code: Mapped[str | None] = mapped_column(String(64), default=None)  # write-off reason
    reconciling_type: Mapped[ReconcilingType | None] = mapped_column(  # kind reconciling_item
        EnumText(ReconcilingType, 32), default=None
    )
    currency: Mapped[str | None] = mapped_column(Text, default=None)  # of the records, when they share one
    left_total: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    right_total: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    difference: Mapped[Decimal | None] = mapped_column(Money(), default=None)  # left_total - right_total
    # What the decision replaced, to restore it when a checker rejects: {"group_status": ...,
    # "item_reasons": {"<item id>": "<unmatched reason>"}}.
    prior: Mapped[dict[str, Any]] = mapped_column(JSONDoc(), default=dict)
    checker_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    checker_comment: Mapped[str | None] = mapped_column(Text, default=None)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)


class Comment(IdMixin, Base):
    """A note on a group or a record of a run (never edited: the discussion is evidence too)."""

    __tablename__ = "review_comments"
    __table_args__ = (
        one_of("target", CommentTarget),
        Index("ix_review_comments_run_target", "run_id", "target", "target_id", "created_at", "id"),
        Index("ix_review_comments_run_id_created_at_id", "run_id", "created_at", "id"),
    )

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    target: Mapped[CommentTarget] = mapped_column(EnumText(CommentTarget, 8))
    target_id: Mapped[int] = mapped_column(BigId)
    author_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
