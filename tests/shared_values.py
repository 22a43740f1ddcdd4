"""Values and helpers every test folder may import (`from shared_values import ...`). A plain module, not
a conftest: `from conftest import X` finds whichever folder's conftest was imported last, so modules of a
folder collected after one with its own conftest (exports, datasets, ...) cannot rely on it."""

from __future__ import annotations

import os
from functools import cache

import pytest

from recon.auth.security import hash_password

PG_ADMIN_URL = os.environ.get("RECON_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("RECON_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_PASSWORD = "correct-horse-battery-staple"
TEST_JWT_SECRET = "test-jwt-secret-that-is-long-enough-0123456789"


def unavailable(what: str, reason: str) -> None:
    """Skip locally, fail under CI=true (where every backend is required)."""
    message = f"{what} unavailable: {reason}"
    if IN_CI:
        pytest.fail(message + " (required when CI=true)", pytrace=False)
    pytest.skip(message)


@cache
def password_hash_for_tests() -> str:
    return hash_password(TEST_PASSWORD)  # argon2 is slow on purpose: hash once per process
