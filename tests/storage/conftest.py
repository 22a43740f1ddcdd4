"""Stores under test: the local directory store and S3Store against a moto server on loopback."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from recon.config import Settings
from recon.storage import ObjectStore, get_store

_FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # moto accepts any credentials
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto S3 server (server mode, real HTTP) on a free loopback port, with fake credentials."""
    from moto.server import ThreadedMotoServer

    saved = {name: os.environ.get(name) for name in _FAKE_AWS_ENV}
    os.environ.update(_FAKE_AWS_ENV)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def s3_bucket(moto_endpoint: str) -> str:
    name = f"recon-test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name


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
