"""Stores under test: the local directory store and S3Store against a moto server on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from recon.config import Settings
from recon.storage import ObjectStore, get_store


@pytest.fixture(params=["local", "s3"])
def store_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_settings(store_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    values: dict[str, object] = {"data_dir": tmp_path / "data", "database_url": "sqlite://"}
    if store_backend == "s3":
        values.update(
            storage_backend="s3",
            s3_bucket=request.getfixturevalue("s3_bucket"),
            s3_endpoint_url=request.getfixturevalue("moto_endpoint"),
            s3_region="us-east-1",
            s3_prefix="tenant-a",
        )
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def store(store_settings: Settings) -> ObjectStore:
    return get_store(store_settings)
