"""Statement integrity, checked while the events stream past: every statement's opening balance plus its
booked entries equals its closing balance; consecutive statements of an account continue each other (the
next opening balance is the previous closing balance); figures the file states about its own entries hold.

A failed check is an IngestError naming the statement, where it is, and the difference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from recon.ingest.errors import IngestError
from recon.ingest.statements.model import (
    Balance,
    Entry,
    Event,
    Opened,
    Statement,
    StatementLimits,
    fail,
    plain,
)


@dataclass(frozen=True, slots=True)
class StatementSummary:
    """What a file says about one statement, after the checks passed."""

    id: str
    account: str
    currency: str | None
    opening: Balance | None
    closing: Balance | None
    entries: int
    amount_sum: Decimal  # every entry, signed
    first_date: dt.date | None
    last_date: dt.date | None
    where: str

    @property
    def period(self) -> tuple[dt.date | None, dt.date | None]:
        start = self.opening.date if self.opening and self.opening.date else self.first_date
        end = self.closing.date if self.closing and self.closing.date else self.last_date
        return start, end


class _Open:
    __slots__ = ("booked", "count", "first", "last", "statement", "total")

    def __init__(self, statement: Statement) -> None:
        self.statement = statement
        self.count = 0
        self.total = Decimal(0)
        self.booked = Decimal(0)
        self.first: dt.date | None = None
        self.last: dt.date | None = None


def _refused(statement: Statement, problem: str) -> IngestError:
    """The error that refuses the file for a `problem` of this statement, located at it."""
    return fail(f"{_described(statement)}{problem}", line=statement.line, where=statement.where)


def _described(statement: Statement) -> str:
    return f"statement {statement.id!r} (account {statement.account})"


class Collector:
    """Passes the entries through (with a file-unique statement id and a sequence number set) and checks
    the statements as they close. `summaries` lists the closed statements in file order."""

    def __init__(self, limits: StatementLimits | None = None) -> None:
        self.limits = limits or StatementLimits()
        self.summaries: list[StatementSummary] = []
        self.transactions = 0
        self._open: dict[int, _Open] = {}
        self._ids: dict[str, int] = {}
        self._last_closing: dict[tuple[str, str | None], tuple[str, Balance]] = {}

    def run(self, events: Iterable[Event]) -> Iterator[tuple[Entry, int]]:
        """(entry, its 1-based number in its statement) for every entry of the file."""
        for event in events:
            if isinstance(event, Entry):
                state = self._open.get(id(event.statement))
                if state is None:
                    raise AssertionError("an entry of a statement that was not opened")
                state.count += 1
                state.total += event.amount
                if event.booked:
                    state.booked += event.amount
                if event.booking_date is not None:
                    state.first = min(state.first or event.booking_date, event.booking_date)
                    state.last = max(state.last or event.booking_date, event.booking_date)
                self.transactions += 1
                if self.transactions > self.limits.max_entries:
                    raise fail(
                        f"more than {self.limits.max_entries} entries", line=event.line, where=event.where
                    )
                yield event, state.count
            elif isinstance(event, Opened):
                self._opened(event.statement)
            else:
                self._closed(event.statement)
        if self._open:
            statement = next(iter(self._open.values())).statement
            raise fail(
                f"{_described(statement)} is not complete: the file ends inside it", where=statement.where
            )

    def _opened(self, statement: Statement) -> None:
        seen = self._ids.get(statement.id, 0)
        self._ids[statement.id] = seen + 1
        if seen:  # ids must name one statement of the file: the second "X" becomes "X#2"
            statement.id = f"{statement.id}#{seen + 1}"
        self._open[id(statement)] = _Open(statement)

    def _closed(self, statement: Statement) -> None:
        state = self._open.pop(id(statement))
        self._check_currency(statement)
        self._check_stated(statement, state)
        self._check_balance(statement, state.booked)
        self._check_continuity(statement)
        self.summaries.append(
            StatementSummary(
                id=statement.id,
                account=statement.account,
                currency=statement.currency,
                opening=statement.opening,
                closing=statement.closing,
                entries=state.count,
                amount_sum=state.total,
                first_date=state.first,
                last_date=state.last,
                where=statement.where,
            )
        )

    @staticmethod
    def _check_currency(statement: Statement) -> None:
        for balance in (statement.opening, statement.closing):
            if balance is None or balance.currency is None:
                continue
            if statement.currency is None:
                statement.currency = balance.currency
            elif balance.currency != statement.currency:
                raise _refused(
                    statement,
                    f": the {balance.kind} balance is in {balance.currency}, the statement in "
                    f"{statement.currency}",
                )

    @staticmethod
    def _check_stated(statement: Statement, state: _Open) -> None:
        if statement.stated_count is not None and statement.stated_count != state.count:
            raise _refused(statement, f" states {statement.stated_count} entries but has {state.count}")
        if statement.stated_net is not None and statement.stated_net not in (state.total, state.booked):
            raise _refused(
                statement,
                f" states a net total of {plain(statement.stated_net)} but its entries sum to "
                f"{plain(state.total)} (difference {plain(statement.stated_net - state.total)})",
            )

    @staticmethod
    def _check_balance(statement: Statement, booked: Decimal) -> None:
        opening, closing = statement.opening, statement.closing
        if opening is None or closing is None:
            return
        expected = opening.amount + booked
        if expected != closing.amount:
            difference = closing.amount - expected
            raise _refused(
                statement,
                f" does not balance: opening balance {plain(opening.amount)} + entries {plain(booked)} = "
                f"{plain(expected)}, but the closing balance is {plain(closing.amount)} "
                f"(difference {plain(difference)})",
            )

    def _check_continuity(self, statement: Statement) -> None:
        key = (statement.account, statement.currency)
        previous = self._last_closing.get(key)
        opening = statement.opening
        if previous is not None and opening is not None:
            before_id, before = previous
            in_order = before.date is None or opening.date is None or opening.date >= before.date
            if in_order and opening.amount != before.amount:
                raise _refused(
                    statement,
                    f" opens with {plain(opening.amount)}, but the previous statement {before_id!r} of the "
                    f"account closed with {plain(before.amount)} "
                    f"(difference {plain(opening.amount - before.amount)})",
                )
        if statement.closing is not None:
            self._last_closing[key] = (statement.id, statement.closing)
