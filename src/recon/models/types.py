"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Numeric, TypeDecorator
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

from recon.core.time import ensure_utc


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


class Money(TypeDecorator[Decimal]):
    """NUMERIC(38, 10): exact on PostgreSQL.

    SQLite has no decimal type; its NUMERIC affinity keeps 15 significant digits (enough for the embedded
    mode) while SUM/ORDER BY/range filters still work in SQL. Values come back as Decimal from the shortest
    float representation, so '12345678901.23' round-trips exactly.
    """

    impl = Numeric(38, 10)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Numeric(38, 10, asdecimal=False))
        return dialect.type_descriptor(Numeric(38, 10))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be Decimal, not float")
        value = Decimal(value)
        return float(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


class JSONDoc(TypeDecorator[Any]):
    """JSON everywhere, JSONB on PostgreSQL (indexable)."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(JSON())
