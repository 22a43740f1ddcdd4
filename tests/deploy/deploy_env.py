"""What tests/deploy shares with the root conftest, without importing it by module name (`conftest` is
ambiguous once several folders have one): the PostgreSQL admin URL and the skip-locally/fail-in-CI rule."""

from __future__ import annotations

import os

import pytest

PG_ADMIN_URL = os.environ.get("RECON_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"
USER_PASSWORD = "deploy-stack-password-1"


def unavailable(what: str, reason: str) -> None:
    """Skip locally, fail under CI=true (where every backend and tool is required)."""
    message = f"{what} unavailable: {reason}"
    if IN_CI:
        pytest.fail(message + " (required when CI=true)", pytrace=False)
    pytest.skip(message)
