"""All models, imported here so `Base.metadata` is complete (Alembic, tests). Add new domains below."""

from recon.models.audit import AuditEvent
from recon.models.auth import Organization, User
from recon.models.base import Base, IdMixin, TimestampMixin, VersionMixin, new_id
from recon.models.datasets import Dataset, DatasetRecord, DatasetRejection, DatasetStatus
from recon.models.exports import Export, ExportFormat, ExportStatus, ExportWhat
from recon.models.jobs import Job, JobStatus
from recon.models.projects import Project, ProjectMember, Role
from recon.models.review import Comment, Decision, DecisionKind, DecisionStatus
from recon.models.rulesets import RuleSet, RuleSetVersion
from recon.models.runs import (
    GroupKind,
    GroupOrigin,
    GroupStatus,
    ItemState,
    MatchGroup,
    Run,
    RunItem,
    RunStatus,
    Side,
    UnmatchedReason,
)
from recon.models.types import JSONDoc, Money, UTCDateTime

__all__ = [
    "AuditEvent",
    "Base",
    "Comment",
    "Dataset",
    "DatasetRecord",
    "DatasetRejection",
    "DatasetStatus",
    "Decision",
    "DecisionKind",
    "DecisionStatus",
    "Export",
    "ExportFormat",
    "ExportStatus",
    "ExportWhat",
    "GroupKind",
    "GroupOrigin",
    "GroupStatus",
    "IdMixin",
    "ItemState",
    "JSONDoc",
    "Job",
    "JobStatus",
    "MatchGroup",
    "Money",
    "Organization",
    "Project",
    "ProjectMember",
    "Role",
    "RuleSet",
    "RuleSetVersion",
    "Run",
    "RunItem",
    "RunStatus",
    "Side",
    "TimestampMixin",
    "UTCDateTime",
    "UnmatchedReason",
    "User",
    "VersionMixin",
    "new_id",
]
