"""The statements of an ingested bank statement file, kept per project so that a statement imported twice is
refused (the same account, statement id and period, whatever file or format it came in)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from recon.ingest.statements import StatementSummary
from recon.models import BankStatement, Dataset

# Formats that describe the same statements: an MT950 re-send of an MT940 statement is still a re-import.
_FAMILY = {"mt940": "swift", "mt950": "swift", "camt052": "camt", "camt053": "camt", "camt054": "camt"}


class DuplicateStatement(ValueError):
    """A statement of the file was already imported into the project by another dataset."""


def fingerprint(fmt: str, summary: StatementSummary) -> str:
    start, end = summary.period
    key = "\x1f".join(
        [_FAMILY.get(fmt, fmt), summary.account, summary.currency or "", summary.id, str(start), str(end)]
    )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _describe(summary: StatementSummary) -> str:
    start, end = summary.period
    period = f", {start} to {end}" if start or end else ""
    return f"statement {summary.id!r} of account {summary.account or '?'}{period}"


def register_statements(
    session: Session, dataset: Dataset, fmt: str, summaries: Sequence[StatementSummary]
) -> None:
    """Replace the dataset's statements with `summaries`; DuplicateStatement when another dataset of the
    project already holds one of them (nothing is written then)."""
    session.execute(delete(BankStatement).where(BankStatement.dataset_id == dataset.id))
    prints = {fingerprint(fmt, summary): summary for summary in summaries}
    if not prints:
        return
    earlier = session.execute(
        select(BankStatement.fingerprint, Dataset.name, Dataset.id)
        .join(Dataset, Dataset.id == BankStatement.dataset_id)
        .where(BankStatement.project_id == dataset.project_id, BankStatement.fingerprint.in_(list(prints)))
        .order_by(BankStatement.created_at)
    ).first()
    if earlier is not None:
        summary = prints[earlier.fingerprint]
        raise DuplicateStatement(
            f"{_describe(summary)} was already imported with dataset {earlier.name!r} ({earlier.id}); "
            "a statement is imported once per project: delete that dataset to import it again"
        )
    session.add_all(
        BankStatement(
            project_id=dataset.project_id,
            dataset_id=dataset.id,
            seq=seq,
            format=fmt,
            statement_id=summary.id,
            account=summary.account,
            currency=summary.currency,
            period_start=summary.period[0],
            period_end=summary.period[1],
            opening_balance=summary.opening.amount if summary.opening else None,
            closing_balance=summary.closing.amount if summary.closing else None,
            entries=summary.entries,
            amount_sum=summary.amount_sum,
            fingerprint=key,
        )
        for seq, (key, summary) in enumerate(prints.items(), start=1)
    )
    session.flush()
