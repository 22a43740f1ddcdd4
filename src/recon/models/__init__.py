"""All models, imported here so `Base.metadata` is complete (Alembic, tests). Add new domains below."""

from recon.models.audit import AuditEvent
from recon.models.auth import LoginThrottle, Organization, User, UserInvitation
from recon.models.bank_statements import BankStatement
from recon.models.base import Base, IdMixin, TimestampMixin, VersionMixin, new_id
from recon.models.datasets import Dataset, DatasetRecord, DatasetRejection, DatasetStatus
from recon.models.exports import Export, ExportFormat, ExportStatus, ExportWhat
from recon.models.feeds import Feed, FeedFile, Schedule
from recon.models.instant import InstantRequest, OpenItem, OpenItemBook, OpenItemClose, OpenItemKey
from recon.models.jobs import Job, JobStatus
from recon.models.projects import Project, ProjectMember, Role
from recon.models.review import Comment, Decision, DecisionKind, DecisionStatus
from recon.models.rulesets import RuleSet, RuleSetVersion
from recon.models.runs import (
    GroupKind,
    GroupOrigin,
    GroupStatus,
    ItemState,
    MatchedGroupAmount,
    MatchGroup,
    ReconcilingType,
    Run,
    RunItem,
    RunStatus,
    Side,
    UnmatchedReason,
)
from recon.models.statements import Statement
from recon.models.types import JSONDoc, Money, UTCDateTime

__all__ = [
    "AuditEvent",
    "BankStatement",
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
    "Feed",
    "FeedFile",
    "GroupKind",
    "GroupOrigin",
    "GroupStatus",
    "IdMixin",
    "InstantRequest",
    "ItemState",
    "JSONDoc",
    "Job",
    "JobStatus",
    "LoginThrottle",
    "MatchGroup",
    "MatchedGroupAmount",
    "Money",
    "OpenItem",
    "OpenItemBook",
    "OpenItemClose",
    "OpenItemKey",
    "Organization",
    "Project",
    "ProjectMember",
    "ReconcilingType",
    "Role",
    "RuleSet",
    "RuleSetVersion",
    "Run",
    "RunItem",
    "RunStatus",
    "Schedule",
    "Side",
    "Statement",
    "TimestampMixin",
    "UTCDateTime",
    "UnmatchedReason",
    "User",
    "UserInvitation",
    "VersionMixin",
    "new_id",
]
