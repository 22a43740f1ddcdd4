"""Fixtures of tests/deploy: the images (built by deploy/build-images.sh, cached layers) and a throw-away
PostgreSQL database for containers. RECON_SKIP_IMAGES=1 skips the image tests in quick local runs; CI
(CI=true) always builds and runs them."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator

import pytest
from containers import BACKEND, FRONTEND, WORKER, image_exists
from deploy_env import IN_CI, PG_ADMIN_URL, unavailable
from manifests import REPO
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

BUILD_LOG = REPO / "deploy" / "out" / "build-images.log"


@pytest.fixture(scope="session")
def images() -> dict[str, bool]:
    """Builds (or refreshes from cache) the images once per session; which ones exist afterwards."""
    if os.environ.get("RECON_SKIP_IMAGES") == "1" and not IN_CI:
        pytest.skip("RECON_SKIP_IMAGES=1: image tests skipped (CI always runs them)")
    if shutil.which("podman") is None:
        unavailable("podman", "not installed (make deploy-tools installs podman, runc and debootstrap)")
    BUILD_LOG.parent.mkdir(parents=True, exist_ok=True)
    lock = REPO / "deploy" / "out" / ".build.lock"
    with BUILD_LOG.open("w") as log, lock.open("w") as held:
        import fcntl

        fcntl.flock(held, fcntl.LOCK_EX)  # xdist workers build once, one after the other
        done = subprocess.run(
            [str(REPO / "deploy" / "build-images.sh")],
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=3600,
            check=False,
        )
    assert done.returncode == 0, f"image build failed; see {BUILD_LOG}:\n{BUILD_LOG.read_text()[-4000:]}"
    return {name: image_exists(name) for name in (BACKEND, WORKER, FRONTEND)}


@pytest.fixture
def frontend_image(images: dict[str, bool]) -> str:
    if not images[FRONTEND]:
        pytest.skip("no frontend/ in this checkout yet: the frontend image is not built")
    return FRONTEND


@pytest.fixture
def pg_database() -> Iterator[str]:
    """An empty PostgreSQL database (URL without driver suffix, as an operator writes it), dropped after."""
    admin = create_engine(
        PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 3}
    )
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        unavailable("PostgreSQL", str(exc).splitlines()[0])
    name = f"recon_deploy_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
