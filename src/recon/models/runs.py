"""Runs (one reconciliation of two datasets with a pinned rule-set version) and their results: match groups
and one item per input record of either side.

Results are written by the run task (bulk insert, see recon.runs.persist): the groups in the transaction that
flips the run to succeeded, the items in it (SQLite) or just before it on a second connection (PostgreSQL).
Every reader gates on the run having succeeded, so a killed worker never leaves partial results visible
(docs/adr/0033-persist-on-two-connections.md). Review actions (recon.review) change groups and items
afterwards; both carry a `version` for optimistic concurrency.

Bulk tables (match_groups, run_items: millions of rows per run) are tuned for the COPY of a run's results
(docs/adr/0004-run-results-storage.md, measured): no foreign keys on `run_id`/`group_id` (PostgreSQL checks
them row by row; the code keeps them consistent: results are written and replaced per run, runs are never
deleted alone and projects only softly), byte-wise ("C") collation on the key and state columns, and partial
indexes for what lists sort by: exceptions (state <> 'matched', ~10% of the rows) rather than every row.
"Matched groups by amount" reads `matched_group_amounts`, written in amount order beside the groups
(docs/adr/0031-matched-groups-by-amount-beside-the-groups.md).

On PostgreSQL the three results tables are partitioned by LIST (run_id), one partition per run, built by the
run's persist (migration 0013, recon.runs.partitions, docs/adr/0038 Update). Their primary keys there are
(run_id, id) (a partitioned table's keys include the partition key); the mapper keeps `id` as the identity,
ids stay unique across runs (one sequence), and every query of results names its run so that it reads one
partition. SQLite keeps the plain tables these classes describe.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from recon.models.base import Base, IdMixin, TimestampMixin, VersionMixin
from recon.models.types import EnumText, JSONDoc, Lifecycle, Money, UTCDateTime, one_of

# BIGSERIAL on PostgreSQL; INTEGER PRIMARY KEY (the rowid, autoincrementing) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# Byte-wise collation on PostgreSQL for the columns every results index starts with (cheaper comparisons).
RunKey = String(36).with_variant(String(36, collation="C"), "postgresql")
SideText = String(5).with_variant(String(5, collation="C"), "postgresql")


# The same members as JobStatus and ExportStatus, a distinct type on purpose (recon.models.types.Lifecycle
# says why). No docstring: it would become the enum's description in the OpenAPI.
class RunStatus(Lifecycle):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class GroupKind(enum.StrEnum):
    ONE_TO_ONE = "one_to_one"
    ONE_TO_MANY = "one_to_many"
    MANY_TO_ONE = "many_to_one"
    MANY_TO_MANY = "many_to_many"
    MANUAL = "manual"


class GroupOrigin(enum.StrEnum):
    ENGINE = "engine"
    MANUAL = "manual"


class GroupStatus(enum.StrEnum):
    MATCHED = "matched"
    SUGGESTED = "suggested"
    BREAK = "break"
    PENDING_APPROVAL = "pending_approval"
    REJECTED = "rejected"
    UNMATCHED = "unmatched"  # dissolved: its members went back to unmatched
    RECONCILING = "reconciling"  # one record explained as a reconciling item (see ReconcilingType)


class ItemState(enum.StrEnum):
    MATCHED = "matched"
    SUGGESTED = "suggested"
    BREAK = "break"
    UNMATCHED = "unmatched"
    PENDING = "pending"  # held by a decision awaiting approval
    RECONCILING = "reconciling"  # explained as a reconciling item: open, but not unexplained


class ReconcilingType(enum.StrEnum):
    """Why a record is open at period end although nothing is wrong: it is carried into the next period.
    Books side: deposit in transit, outstanding payment; bank side: bank error; either side: timing."""

    DEPOSIT_IN_TRANSIT = "deposit_in_transit"
    OUTSTANDING_PAYMENT = "outstanding_payment"
    BANK_ERROR = "bank_error"
    TIMING = "timing"


# The write-off reason of engine groups a rule's tolerance matched with a non-zero difference: the rule set
# accepted the difference, and it is shown as written off, never hidden in a "matched" total.
TOLERANCE_REASON = "tolerance"


class UnmatchedReason(enum.StrEnum):
    NO_CANDIDATE = "no_candidate"
    BELOW_MIN_SCORE = "below_min_score"
    AMBIGUOUS = "ambiguous"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"  # rejected by ingestion (never offered to matching)
    REJECTED_SUGGESTION = "rejected_suggestion"
    UNMATCHED_MANUALLY = "unmatched_manually"


class Side(enum.StrEnum):
    LEFT = "left"
    RIGHT = "right"


def _open_indexes(table: str, where: str, *columns: tuple[str, ...]) -> list[Index]:
    """Partial indexes (same predicate on PostgreSQL and SQLite) named ix_<table>_<columns>_open."""
    return [
        Index(
            f"ix_{table}_{'_'.join(cols)}_open",
            *cols,
            postgresql_where=text(where),
            sqlite_where=text(where),
        )
        for cols in columns
    ]


class Run(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "runs"
    __table_args__ = (
        one_of("status", RunStatus),
        Index("ix_runs_project_id_created_at_id", "project_id", "created_at", "id"),
        # Idempotency-Key: the same key from the same user in a project names one run.
        UniqueConstraint("project_id", "created_by_id", "idempotency_key"),
    )

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    ruleset_id: Mapped[str] = mapped_column(ForeignKey("rulesets.id"))
    ruleset_version: Mapped[int] = mapped_column(Integer)
    ruleset_version_id: Mapped[str] = mapped_column(ForeignKey("ruleset_versions.id"))
    left_dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), index=True)
    right_dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), index=True)
    # Input hashes pinned at creation; the task refuses to run when a dataset no longer has them.
    left_sha256: Mapped[str] = mapped_column(String(64))
    right_sha256: Mapped[str] = mapped_column(String(64))
    rules_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[RunStatus] = mapped_column(EnumText(RunStatus, 16), default=RunStatus.QUEUED)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), default=None)
    # Retries of this run (same row, same pinned inputs) start at 1.
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    # {"phase": "loading|matching|persisting|done", "passes": [{"name", "stage", "groups", "left", "right"}]}
    progress: Mapped[dict[str, Any]] = mapped_column(JSONDoc(), default=dict)
    # The CLI's summary.json document + run_id, ruleset {id, version, sha256}, inputs {...}.
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc(), default=None)
    # sha256 over the canonical engine results (groups and items as the engine made them): two executions of
    # the same pinned inputs are identical iff their digests are equal.
    results_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    # A rerun: the run whose pinned inputs this run re-executed.
    rerun_of_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    signed_off_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    signed_off_by_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # The period this run reconciles (the statement's dates) and which side is the bank (the other: books).
    period_start: Mapped[dt.date | None] = mapped_column(Date, default=None)
    period_end: Mapped[dt.date | None] = mapped_column(Date, default=None)
    bank_side: Mapped[str] = mapped_column(String(5), default="right", server_default="right")
    # The engine backend the run executes on: duckdb, or spark (recon.engine.backend, docs/scaling.md).
    backend: Mapped[str] = mapped_column(String(16), default="duckdb", server_default="duckdb")
    # The signed-off run whose reconciling items this run took over as open records, and a digest of them
    # (pinned like the datasets: the task refuses to run when they changed).
    carried_from_run_id: Mapped[str | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), default=None
    )
    carry_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    # {currency: {"bank": "<amount>", "books": "<amount>"}}: balances at the period's start (default: the
    # closing figures of the carried-from run's statement, else 0) and, optionally, at its end as the bank
    # statement and the ledger state them (then checked against the records).
    opening_balances: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc(), default=None)
    closing_balances: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc(), default=None)


# The groups the amount index holds: all but those matched_group_amounts lists while they are matched.
UNLISTED = "status <> 'matched' OR NOT amount_listed"


class MatchGroup(VersionMixin, Base):
    __tablename__ = "match_groups"
    __table_args__ = (
        UniqueConstraint("run_id", "seq"),
        one_of("status", GroupStatus),
        one_of("kind", GroupKind),
        one_of("origin", GroupOrigin),
        # Lists walk a run's groups in seq order (= creation order = id order).
        Index("ix_match_groups_run_id_status_seq", "run_id", "status", "seq"),
        # By amount: every group but those listed in matched_group_amounts while matched (open groups, manual
        # groups, groups matched by review). One entry per group written at a random place cost ~0.5 s CPU
        # per 100k groups (docs/adr/0030); the engine's matched groups are in matched_group_amounts instead,
        # written in amount order (docs/adr/0031). Queries repeat the predicate literally (SQLite).
        Index(
            "ix_match_groups_run_id_status_left_total_seq_unlisted",
            "run_id",
            "status",
            "left_total",
            "seq",
            postgresql_where=text(UNLISTED),
            sqlite_where=text(UNLISTED),
        ),
        *_open_indexes(
            "match_groups",
            "status <> 'matched'",
            ("run_id", "status", "score", "seq"),
            ("run_id", "status", "opened_at", "seq"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(RunKey)  # runs.id; no FK on purpose (see the module docstring)
    # The engine's group_id; manual groups take the next number of the run.
    seq: Mapped[int] = mapped_column(Integer)
    pass_name: Mapped[str | None] = mapped_column(Text, default=None)  # None for manual groups
    kind: Mapped[str] = mapped_column(String(16))
    origin: Mapped[str] = mapped_column(String(8), default=GroupOrigin.ENGINE)
    status: Mapped[GroupStatus] = mapped_column(EnumText(GroupStatus, 16, collation="C"))
    score: Mapped[float | None] = mapped_column(Float, default=None)
    explanation: Mapped[Any] = mapped_column(JSONDoc(), default=None)
    left_count: Mapped[int] = mapped_column(Integer, default=0)
    right_count: Mapped[int] = mapped_column(Integer, default=0)
    left_total: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    right_total: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    difference: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))  # left_total - right_total
    writeoff_amount: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    writeoff_reason: Mapped[str | None] = mapped_column(String(100), default=None)
    # The members' currency when they share one (amounts render with its minor units).
    currency: Mapped[str | None] = mapped_column(Text, default=None)
    reconciling_type: Mapped[ReconcilingType | None] = mapped_column(  # status reconciling
        EnumText(ReconcilingType, 32), default=None
    )
    assignee_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)  # breaks' age
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    # True for the engine groups that were matched when the run's results were written: they have a row in
    # matched_group_amounts (never changed afterwards; a review that changes the status leaves it).
    amount_listed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class MatchedGroupAmount(Base):
    """The engine groups a run matched, by (left_total, seq): written by the run's persist in this order
    (appends, not one entry at a random place per group), read for "matched groups by amount" together with
    the amount index of match_groups, which holds every other group (docs/adr/0031). A group's left_total and
    seq never change; its status may: the lists join match_groups and keep the groups still matched."""

    __tablename__ = "matched_group_amounts"
    __table_args__ = ({"sqlite_with_rowid": False},)

    run_id: Mapped[str] = mapped_column(RunKey, primary_key=True)
    left_total: Mapped[Decimal] = mapped_column(Money(), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(BigId)  # match_groups.id (no FK, like the groups' run_id)


class RunItem(VersionMixin, Base):
    """One row per input record of a run, both sides, ingest-rejected records included. A record is in at
    most one group by construction (one `group_id` column)."""

    __tablename__ = "run_items"
    __table_args__ = (
        one_of("side", Side),
        one_of("state", ItemState),
        # Members of groups in the order a group shows them (no sort of a page's members), and any scan of one
        # run's items.
        Index("ix_run_items_run_id_group_id_side_row_no", "run_id", "group_id", "side", "row_no"),
        # Exception lists (unmatched, pending, break, suggested) by id, amount, date and age.
        *_open_indexes(
            "run_items",
            "state <> 'matched'",
            ("run_id", "side", "state", "id"),
            ("run_id", "side", "state", "amount", "id"),
            ("run_id", "side", "state", "date", "id"),
            ("run_id", "side", "state", "opened_at", "id"),
        ),
        *_open_indexes("run_items", "assignee_id IS NOT NULL", ("run_id", "assignee_id", "id")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(RunKey)  # runs.id; no FK on purpose (see the module docstring)
    side: Mapped[str] = mapped_column(SideText)
    row_no: Mapped[int] = mapped_column(Integer)  # the record's row in its dataset (1-based data row)
    ext_id: Mapped[str | None] = mapped_column(Text, default=None)
    date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    amount: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    currency: Mapped[str | None] = mapped_column(Text, default=None)
    reference: Mapped[str | None] = mapped_column(Text, default=None)
    counterparty: Mapped[str | None] = mapped_column(Text, default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    state: Mapped[ItemState] = mapped_column(EnumText(ItemState, 16, collation="C"))
    reason: Mapped[str | None] = mapped_column(String(32), default=None)
    detail: Mapped[str | None] = mapped_column(Text, default=None)  # the engine's detail of the reason
    # match_groups.id (no FK on purpose); NULL while the record is in no group.
    group_id: Mapped[int | None] = mapped_column(BigId, default=None)
    assignee_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    # When it became an exception (carried over from an earlier run of the project for the same record).
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    # A reconciling item of an earlier period taken into this run: the item it continues (run_items.id of the
    # carried-from run) and the dataset its record comes from (row_no is its row there).
    carried_from_id: Mapped[int | None] = mapped_column(BigId, default=None)
    origin_dataset_id: Mapped[str | None] = mapped_column(String(36), default=None)


# An item's group: by id and run, so that PostgreSQL prunes match_groups to the run's partition (its key is
# (run_id, id) there, docs/adr/0038) instead of probing every run's.
ITEM_GROUP_JOIN = and_(MatchGroup.run_id == RunItem.run_id, MatchGroup.id == RunItem.group_id)
