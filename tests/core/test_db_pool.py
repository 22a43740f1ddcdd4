"""PostgreSQL's pool without pre-ping: a pooled connection the server has closed is dropped at checkout and
the next statement succeeds on another connection (recon.core.db)."""

from __future__ import annotations

import time

from sqlalchemy import text

from recon.config import Settings
from recon.core.db import create_db_engine


def test_a_connection_closed_by_the_server_is_replaced_at_checkout(postgres_url: str) -> None:
    settings = Settings(_env_file=None, database_url=postgres_url)
    engine = create_db_engine(settings, pool_size=1, max_overflow=0)
    admin = create_db_engine(settings)
    try:
        assert not engine.pool._pre_ping  # type: ignore[attr-defined]
        with engine.connect() as conn:  # the pool's one connection, back in the pool after this
            first = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with admin.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            for _ in range(100):  # the backend exits shortly after the signal
                gone = other.execute(
                    text("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = :pid"), {"pid": first}
                ).scalar_one()
                if gone:
                    break
                time.sleep(0.05)
        with engine.connect() as conn:  # no error: the dead connection was discarded at checkout
            second = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert second != first
    finally:
        engine.dispose()
        admin.dispose()
