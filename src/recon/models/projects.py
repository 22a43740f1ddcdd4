"""Projects (a reconciliation workspace inside an organisation) and their members with roles."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from recon.models.base import Base, IdMixin, TimestampMixin, VersionMixin
from recon.models.types import EnumText, JSONDoc, UTCDateTime, one_of


class Role(enum.StrEnum):
    """Project roles, weakest first; `Role.rank` orders them."""

    VIEWER = "viewer"
    PREPARER = "preparer"
    APPROVER = "approver"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, minimum: Role) -> bool:
        return self.rank >= minimum.rank


class Project(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "projects"

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Validated by recon.projects.schemas.ProjectSettings (require_approval, ...).
    settings: Mapped[dict[str, Any]] = mapped_column(JSONDoc(), default=dict)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Soft delete: a deleted project answers 404 everywhere but its evidence stays.
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)


class ProjectMember(IdMixin, TimestampMixin, Base):
    __tablename__ = "project_members"
    __table_args__ = (
        UniqueConstraint("project_id", "user_id"),
        one_of("role", Role),
        Index("ix_project_members_user_id_project_id", "user_id", "project_id"),
    )

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(EnumText(Role, 16))
