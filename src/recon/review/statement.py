"""The reconciliation statement of a run: balance per bank and per books, reconciling items by type, the
adjustments (write-offs), adjusted balances that must agree, and the unexplained difference; plus the
control totals by category. One section per currency (records without a currency join the run's only
currency; with several currencies they form their own section).

The figures (bank = the run's `bank_side`, books = the other side; amounts signed the same way on both):

    balance per bank    = stated closing balance, else opening + the period's bank records
    adjusted bank       = balance per bank + books-side reconciling items - bank-side reconciling items
    balance per books   = stated closing balance, else opening + the period's books records
    adjusted books      = balance per books + adjustments (per written-off group: bank total - books total)
    unexplained         = adjusted bank - adjusted books

With the opening balances of a signed-off previous period (its closing bank balance and adjusted books
balance) and its reconciling items carried in, the unexplained difference is exactly the open, unexplained
records (bank side minus books side): zero once every record is matched, written off or explained.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from recon.core.money import render_amount
from recon.models import Dataset, Project, Run, User
from recon.models.runs import ItemState, ReconcilingType
from recon.review.statement_repository import (
    category_totals,
    period_totals,
    reconciling_items,
    writeoff_totals,
)

STATEMENT_KIND = "reconciliation_statement"
STATEMENT_VERSION = 1
CATEGORIES = (
    "matched",
    "written_off",
    "reconciling",
    ItemState.UNMATCHED,
    ItemState.BREAK,
    ItemState.SUGGESTED,
    ItemState.PENDING,
)
OPEN_CATEGORIES = (ItemState.UNMATCHED, ItemState.BREAK, ItemState.SUGGESTED, "pending")
ZERO = Decimal(0)


def canonical_json(document: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the bytes the statement's sha256 is taken over."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def document_sha256(document: Any) -> str:
    return hashlib.sha256(canonical_json(document)).hexdigest()


def other_side(side: str) -> str:
    return "left" if side == "right" else "right"


@dataclass
class Section:
    """Exact figures of one currency before rendering."""

    currency: str | None
    period: dict[str, Decimal] = field(default_factory=lambda: {"bank": ZERO, "books": ZERO})
    carried: dict[str, Decimal] = field(default_factory=lambda: {"bank": ZERO, "books": ZERO})
    categories: dict[str, dict[str, tuple[int, Decimal]]] = field(
        default_factory=lambda: {"left": {}, "right": {}}
    )
    writeoffs: dict[str | None, tuple[int, Decimal]] = field(default_factory=dict)
    items: list[Any] = field(default_factory=list)


class Sections:
    """Records grouped by currency; a missing currency joins the run's only one."""

    def __init__(self, currencies: set[str | None]) -> None:
        known = {c for c in currencies if c}
        self.single = next(iter(known)) if len(known) == 1 else None
        self.by_currency: dict[str | None, Section] = {}

    def __call__(self, currency: str | None) -> Section:
        key = currency or self.single
        if key not in self.by_currency:
            self.by_currency[key] = Section(key)
        return self.by_currency[key]

    def ordered(self) -> list[Section]:
        return sorted(self.by_currency.values(), key=lambda s: (s.currency is None, s.currency or ""))


def _balance(balances: dict[str, Any] | None, currency: str | None, role: str) -> Decimal | None:
    entry = (balances or {}).get(currency or "") or {}
    value = entry.get(role)
    return None if value is None else Decimal(str(value))


def collect(session: Session, run: Run) -> list[Section]:
    """The exact figures per currency."""
    bank_side = run.bank_side
    totals = category_totals(session, run.id)
    periods = period_totals(session, run.id)
    writeoffs = writeoff_totals(session, run.id)
    items = reconciling_items(session, run.id)
    currencies = {c for c, *_ in totals} | {c for c, *_ in writeoffs}
    sections = Sections(currencies)
    for currency, side, category, records, amount in totals:
        section = sections(currency)
        n, total = section.categories[side].get(category, (0, ZERO))
        section.categories[side][category] = (n + records, total + amount)
    for currency, side, carried, amount in periods:
        role = "bank" if side == bank_side else "books"
        target = sections(currency).carried if carried else sections(currency).period
        target[role] += amount
    for currency, reason, groups, amount in writeoffs:
        section = sections(currency)
        n, total = section.writeoffs.get(reason, (0, ZERO))
        section.writeoffs[reason] = (n + groups, total + amount)
    for item in items:
        sections(item.currency).items.append(item)
    if not sections.by_currency:
        sections(None)
    return sections.ordered()


@dataclass(frozen=True)
class Figures:
    """The statement lines of one section, exact."""

    bank_opening: Decimal
    books_opening: Decimal
    bank_computed: Decimal
    books_computed: Decimal
    bank_stated: Decimal | None
    books_stated: Decimal | None
    balance_per_bank: Decimal
    balance_per_books: Decimal
    books_items: Decimal
    bank_items: Decimal
    adjusted_bank: Decimal
    adjustments: Decimal
    adjusted_books: Decimal
    unexplained: Decimal


def figures(run: Run, section: Section) -> Figures:
    currency = section.currency
    bank_opening = _balance(run.opening_balances, currency, "bank") or ZERO
    books_opening = _balance(run.opening_balances, currency, "books") or ZERO
    bank_computed = bank_opening + section.period["bank"]
    books_computed = books_opening + section.period["books"]
    bank_stated = _balance(run.closing_balances, currency, "bank")
    books_stated = _balance(run.closing_balances, currency, "books")
    balance_per_bank = bank_computed if bank_stated is None else bank_stated
    balance_per_books = books_computed if books_stated is None else books_stated
    books_items = sum((i.amount or ZERO for i in section.items if i.side != run.bank_side), ZERO)
    bank_items = sum((i.amount or ZERO for i in section.items if i.side == run.bank_side), ZERO)
    adjusted_bank = balance_per_bank + books_items - bank_items
    # A write-off's difference is left - right; the books move by bank total - books total.
    sign = -1 if run.bank_side == "right" else 1
    adjustments = sign * sum((amount for _n, amount in section.writeoffs.values()), ZERO)
    adjusted_books = balance_per_books + adjustments
    return Figures(
        bank_opening=bank_opening,
        books_opening=books_opening,
        bank_computed=bank_computed,
        books_computed=books_computed,
        bank_stated=bank_stated,
        books_stated=books_stated,
        balance_per_bank=balance_per_bank,
        balance_per_books=balance_per_books,
        books_items=books_items,
        bank_items=bank_items,
        adjusted_bank=adjusted_bank,
        adjustments=adjustments,
        adjusted_books=adjusted_books,
        unexplained=adjusted_bank - adjusted_books,
    )


def _age(opened_at: dt.datetime | None, today: dt.date) -> int | None:
    return None if opened_at is None else max((today - opened_at.astimezone(dt.UTC).date()).days, 0)


def _render_section(run: Run, section: Section, today: dt.date) -> dict[str, Any]:
    currency = section.currency

    def money(value: Decimal | None) -> str | None:
        return None if value is None else render_amount(value, currency)

    f = figures(run, section)
    by_type: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for item in section.items:
        by_type[(item.reconciling_type, item.side)].append(item)
    reconciling = []
    for kind in ReconcilingType:
        for side in ("left", "right"):
            members = by_type.get((kind.value, side), [])
            if not members:
                continue
            on_bank = side == run.bank_side
            total = sum((m.amount or ZERO for m in members), ZERO)
            reconciling.append(
                {
                    "type": kind.value,
                    "side": side,
                    "on": "bank" if on_bank else "books",
                    "effect_on_bank": money(-total if on_bank else total),
                    "count": len(members),
                    "amount": money(total),
                    "items": [
                        {
                            "item_id": m.id,
                            "row_no": m.row_no,
                            "ext_id": m.ext_id,
                            "date": m.date.isoformat() if m.date else None,
                            "amount": money(m.amount),
                            "reference": m.reference,
                            "counterparty": m.counterparty,
                            "description": m.description,
                            "opened_at": m.opened_at.astimezone(dt.UTC).isoformat() if m.opened_at else None,
                            "age_days": _age(m.opened_at, today),
                            "carried_from_id": m.carried_from_id,
                            "comment": m.comment,
                            "explained_by_id": m.maker_id,
                            "approved_by_id": m.checker_id,
                        }
                        for m in members
                    ],
                }
            )
    sign = -1 if run.bank_side == "right" else 1
    adjustments = [
        {"reason": reason, "groups": n, "amount": money(sign * amount)}
        for reason, (n, amount) in sorted(section.writeoffs.items(), key=lambda kv: kv[0] or "")
    ]
    bank_role, books_role = run.bank_side, other_side(run.bank_side)
    open_items = {}
    for role, side in (("bank", bank_role), ("books", books_role)):
        found = [section.categories[side].get(c, (0, ZERO)) for c in OPEN_CATEGORIES]
        open_items[role] = {
            "records": sum(n for n, _ in found),
            "amount": money(sum((a for _, a in found), ZERO)),
        }

    def balance(
        role: str, opening: Decimal, computed: Decimal, stated: Decimal | None, per_role: Decimal
    ) -> dict[str, str | None]:
        """One side's balance: opening + the period's records = computed closing, against the stated one."""
        return {
            "opening": money(opening),
            "period_records": money(section.period[role]),
            "computed_closing": money(computed),
            "stated_closing": money(stated),
            "difference": money(per_role - computed),
        }

    opening_difference = f.bank_opening + section.carried["books"] - section.carried["bank"] - f.books_opening
    return {
        "currency": currency,
        "balance_per_bank": money(f.balance_per_bank),
        "bank_balance": balance("bank", f.bank_opening, f.bank_computed, f.bank_stated, f.balance_per_bank),
        "reconciling_items": reconciling,
        "adjusted_balance_per_bank": money(f.adjusted_bank),
        "balance_per_books": money(f.balance_per_books),
        "books_balance": balance(
            "books", f.books_opening, f.books_computed, f.books_stated, f.balance_per_books
        ),
        "adjustments": adjustments,
        "adjusted_balance_per_books": money(f.adjusted_books),
        "unexplained_difference": money(f.unexplained),
        "agrees": f.unexplained == 0,
        "open_items": open_items,
        "carried_in": {role: money(section.carried[role]) for role in ("bank", "books")},
        "opening_difference": money(opening_difference),
        "control_totals": control_totals_of(section),
    }


def control_totals_of(section: Section) -> dict[str, Any]:
    """{side: {category: {records, amount}}} of one currency, every category listed."""

    def money(value: Decimal) -> str:
        return render_amount(value, section.currency)

    return {
        side: {
            category: {
                "records": section.categories[side].get(category, (0, ZERO))[0],
                "amount": money(section.categories[side].get(category, (0, ZERO))[1]),
            }
            for category in CATEGORIES
        }
        for side in ("left", "right")
    }


def control_totals(session: Session, run: Run) -> list[dict[str, Any]]:
    """[{currency, left: {category: {records, amount}}, right: {...}}]: the run's records per currency, side
    and category (matched, written_off, reconciling, unmatched, break, suggested, pending)."""
    return [{"currency": s.currency, **control_totals_of(s)} for s in collect(session, run)]


def _dataset_ref(dataset: Dataset | None) -> dict[str, Any] | None:
    if dataset is None:
        return None
    return {"id": dataset.id, "name": dataset.name, "filename": dataset.filename, "sha256": dataset.sha256}


def build_statement(
    session: Session, run: Run, *, prepared_at: dt.datetime, prepared_by: User | None
) -> dict[str, Any]:
    """The statement document (JSON-ready, amounts as exact text) of the run as it is now."""
    project = session.get(Project, run.project_id)
    bank_id = run.right_dataset_id if run.bank_side == "right" else run.left_dataset_id
    books_id = run.left_dataset_id if run.bank_side == "right" else run.right_dataset_id
    today = prepared_at.astimezone(dt.UTC).date()
    sections = [_render_section(run, s, today) for s in collect(session, run)]
    return {
        "kind": STATEMENT_KIND,
        "version": STATEMENT_VERSION,
        "run_id": run.id,
        "project_id": run.project_id,
        "project_name": project.name if project else None,
        "period": {
            "start": run.period_start.isoformat() if run.period_start else None,
            "end": run.period_end.isoformat() if run.period_end else None,
        },
        "bank_side": run.bank_side,
        "books_side": other_side(run.bank_side),
        "datasets": {
            "bank": _dataset_ref(session.get(Dataset, bank_id)),
            "books": _dataset_ref(session.get(Dataset, books_id)),
        },
        "ruleset": {"id": run.ruleset_id, "version": run.ruleset_version, "sha256": run.rules_sha256},
        "results_sha256": run.results_sha256,
        "carried_from_run_id": run.carried_from_run_id,
        "prepared_at": prepared_at.astimezone(dt.UTC).isoformat(),
        "prepared_by": {"id": prepared_by.id, "email": prepared_by.email} if prepared_by else None,
        "agrees": all(s["agrees"] for s in sections),
        "sections": sections,
    }


def unexplained(document: dict[str, Any]) -> list[tuple[str | None, str]]:
    """(currency, unexplained difference) of the sections that do not agree."""
    return [(s["currency"], s["unexplained_difference"]) for s in document["sections"] if not s["agrees"]]
