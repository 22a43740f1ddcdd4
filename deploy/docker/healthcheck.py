"""Container health check without a shell or curl: `healthcheck.py URL` (HTTP 2xx within 4 s) or
`healthcheck.py --database` (DATABASE_URL answers SELECT 1; the worker serves no HTTP). Exit 0 = healthy."""

import sys
import urllib.request


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 - a fixed local URL
        return 200 <= response.status < 300


def database_ok() -> bool:
    from sqlalchemy import text

    from recon.config import get_settings
    from recon.core.db import create_db_engine

    engine = create_db_engine(get_settings())
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:2000/health"
    try:
        healthy = database_ok() if target == "--database" else http_ok(target)
    except Exception as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        healthy = False
    sys.exit(0 if healthy else 1)
