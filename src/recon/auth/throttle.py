"""Login throttling that holds under concurrency and across processes (docs/adr/0011-hostile-input.md).

Each login attempt first *reserves* a password check, in its own short transaction committed before argon2
runs, on two keys of the `login_throttle` table:

- the account (digest of the normalised email, known or not): its first LOGIN_MAX_FAILURES checks in a
  LOGIN_LOCKOUT_S window are free; after that each check makes the next one wait 1, 2, 4 ... seconds, at
  most LOGIN_DELAY_MAX_S (progressive delay: an attacker anywhere slows guessing to a trickle, but the owner
  is never locked out for longer than that cap);
- the client address with the account: at most LOGIN_MAX_FAILURES checks per window, then refused until the
  window ends (per-source throttling: the attacker's address is locked, the owner's is not).

A reservation is one conditional UPDATE per key (`... WHERE blocked_until <= now RETURNING failures`): on
PostgreSQL the row lock, on SQLite the database write lock, serialise concurrent reservations, so N parallel
attempts can never all pass the check. When either key refuses, the transaction rolls back (a refused attempt
counts nowhere: the owner trying during an attacker's delay does not lock their own address). A successful
login clears both keys. Known and unknown emails go through the same keys, so answers (status, body,
Retry-After) and timings do not tell whether an account exists.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from recon.config import Settings
from recon.core.time import utcnow
from recon.models import LoginThrottle

# One reservation in this many also deletes rows whose window and block have run out (bounded table).
_PRUNE_ONE_IN = 100


@dataclass(frozen=True)
class Reservation:
    allowed: bool
    retry_after_s: int = 0


def _key(kind: str, *parts: str) -> str:
    return kind + ":" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:60]


class LoginThrottleService:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.max_failures = settings.login_max_failures
        self.window = dt.timedelta(seconds=settings.login_lockout_s)
        self.delay_cap_s = settings.login_delay_max_s

    def keys(self, email: str, client_ip: str) -> tuple[str, str]:
        """(account key, address + account key) of a normalised email."""
        return _key("a", email), _key("s", client_ip, email)

    def reserve(self, email: str, client_ip: str) -> Reservation:
        """Count one password check for this email from this address, or refuse it with the seconds to wait.
        Committed before it returns, so concurrent requests of any process see it."""
        account, source = self.keys(email, client_ip)
        now = utcnow()
        with self.engine.connect() as conn:
            with conn.begin() as transaction:
                self._ensure_rows(conn, (account, source), now)
                account_failures = self._take(conn, account, now)
                source_failures = None if account_failures is None else self._take(conn, source, now)
                if account_failures is None or source_failures is None:
                    transaction.rollback()
                else:
                    delay_s = self._delay_s(account_failures)
                    if delay_s:
                        self._block(conn, account, now + dt.timedelta(seconds=delay_s))
                    if source_failures >= self.max_failures:
                        self._block_until_window_end(conn, source)
                    if random.randrange(_PRUNE_ONE_IN) == 0:
                        self._prune(conn, now)
                    return Reservation(allowed=True)
            return Reservation(allowed=False, retry_after_s=self._retry_after(conn, (account, source), now))

    def clear(self, session: Session, email: str, client_ip: str) -> None:
        """A successful login: both keys start afresh (in the login's own transaction)."""
        session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(self.keys(email, client_ip))))

    # -- statements ------------------------------------------------------------------------------------------
    def _ensure_rows(self, conn: Connection, keys: tuple[str, ...], now: dt.datetime) -> None:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        rows = [{"key": key, "failures": 0, "window_started_at": now, "blocked_until": None} for key in keys]
        conn.execute(insert(LoginThrottle).values(rows).on_conflict_do_nothing(index_elements=["key"]))

    def _take(self, conn: Connection, key: str, now: dt.datetime) -> int | None:
        """Failures of `key` including this attempt, or None when it is blocked (nothing changed then)."""
        table = LoginThrottle
        expired = table.window_started_at <= now - self.window
        return conn.execute(
            update(table)
            .where(table.key == key, or_(table.blocked_until.is_(None), table.blocked_until <= now))
            .values(
                failures=case((expired, 1), else_=table.failures + 1),
                window_started_at=case((expired, now), else_=table.window_started_at),
            )
            .returning(table.failures)
        ).scalar_one_or_none()

    def _delay_s(self, failures: int) -> int:
        if failures < self.max_failures:
            return 0
        return min(self.delay_cap_s, int(2 ** min(failures - self.max_failures, 30)))

    def _block(self, conn: Connection, key: str, until: dt.datetime) -> None:
        conn.execute(update(LoginThrottle).where(LoginThrottle.key == key).values(blocked_until=until))

    def _block_until_window_end(self, conn: Connection, key: str) -> None:
        started = conn.execute(
            select(LoginThrottle.window_started_at).where(LoginThrottle.key == key)
        ).scalar_one()
        self._block(conn, key, started + self.window)

    def _retry_after(self, conn: Connection, keys: tuple[str, ...], now: dt.datetime) -> int:
        blocked = conn.execute(
            select(LoginThrottle.blocked_until).where(LoginThrottle.key.in_(keys))
        ).scalars()
        latest = max((until for until in blocked if until is not None), default=now)
        return max(1, math.ceil((latest - now).total_seconds()))

    def _prune(self, conn: Connection, now: dt.datetime) -> None:
        conn.execute(
            delete(LoginThrottle).where(
                LoginThrottle.window_started_at <= now - self.window,
                or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until <= now),
            )
        )
