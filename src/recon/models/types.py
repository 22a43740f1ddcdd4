"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import JSON, CheckConstraint, DateTime, Dialect, Numeric, String, TypeDecorator
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeEngine, UserDefinedType

from recon.core.money import sortable_text, stored_money
from recon.core.time import ensure_utc

E = TypeVar("E", bound=enum.StrEnum)


class Lifecycle(enum.StrEnum):
    """The statuses of work that waits, runs and ends: `JobStatus` (one execution in the queue), and
    `RunStatus` and `ExportStatus` (what a job produces) declare the same five members on this base.

    They stay separate enums on purpose. They are separate state machines, each written by its own code: a
    job that finds its run deleted or retried under another job succeeds with nothing to do, and a run waits
    `queued` between its job's attempts while the job is requeued. And they are separate types of the public
    API (`JobStatus`, `RunStatus`, `ExportStatus` in the OpenAPI and the generated client). What they share,
    which members are final, is written once, here."""

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})


def one_of(column: str, values: type[enum.StrEnum]) -> CheckConstraint:
    """The CHECK constraint `<column>_valid` of a closed-set column: its value is one of the enum's."""
    listed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=f"{column}_valid")


class EnumText(TypeDecorator[E]):
    """A status (or other closed set) stored as its text value, read back as the enum member: the same
    VARCHAR(n) as a plain String column (no migration; the CHECK constraint lists the values), while Python
    code only ever sees the enum. An unknown value is refused before it reaches the database. `collation`
    applies on PostgreSQL only (the results tables' byte-wise "C" key columns; SQLite compares bytes)."""

    impl = String
    cache_ok = True

    def __init__(self, enum_type: type[E], length: int, *, collation: str | None = None) -> None:
        super().__init__(length)
        self.enum_type = enum_type
        self.length = length
        self.collation = collation

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if self.collation is not None and dialect.name == "postgresql":
            return dialect.type_descriptor(String(self.length, collation=self.collation))
        return dialect.type_descriptor(self.impl_instance)

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum_type(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum_type(value)

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any]:
        # The member by a dict look-up, no Python call a row: exports and carries read millions of these.
        return self.enum_type._value2member_map_.get


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC in Python; TIMESTAMPTZ on PostgreSQL, ISO text on SQLite. Naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use recon.core.time.utcnow()")
        value = value.astimezone(dt.UTC)
        # SQLite stores text: drop the offset so every stored value has the same sortable format.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else ensure_utc(value)


class _SqliteMoneyText(UserDefinedType[str]):
    """Money's column on SQLite: declared NUMERIC(38, 10) (the same DDL as ever), holding
    `recon.core.money.sortable_text` values; no driver conversion (SQLAlchemy's Numeric would make floats)."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "NUMERIC(38, 10)"


class Money(TypeDecorator[Decimal]):
    """Exact money on both databases (docs/adr/0006-exact-money-on-sqlite.md).

    PostgreSQL: NUMERIC(38, 10). SQLite: the same value as fixed-width text whose byte order is the numeric
    order (`recon.core.money.sortable_text`), so `=`, `<`, ORDER BY, MIN/MAX and the indexes work unchanged.
    Never SUM money in SQL directly (SQLite would sum the text as 0): use `money_sum(column)`, exact on both.
    Values come back as Decimal with scale 10 on both databases (12.5 -> Decimal('12.5000000000')).
    """

    impl = Numeric(38, 10)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SqliteMoneyText())
        return dialect.type_descriptor(Numeric(38, 10))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be Decimal, not float")
        value = Decimal(value)
        return sortable_text(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else stored_money(value)


class money_sum(FunctionElement[Decimal]):
    """SUM of a money column, exact on both databases: SUM(x) on PostgreSQL (NUMERIC), the
    `recon_money_sum(x)` aggregate on SQLite (registered per connection by recon.core.db)."""

    type = Money()
    inherit_cache = True
    name = "money_sum"


@compiles(money_sum)
def _money_sum_default(element: money_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return f"sum({compiler.process(element.clauses, **kw)})"


@compiles(money_sum, "sqlite")
def _money_sum_sqlite(element: money_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return f"recon_money_sum({compiler.process(element.clauses, **kw)})"


class JSONDoc(TypeDecorator[Any]):
    """JSON everywhere, JSONB on PostgreSQL (indexable)."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(JSON())
