"""hadolint passes the Containerfiles (settings and the one justified ignore in deploy/docker/.hadolint.yaml),
and the files keep the deployment contract: multi-stage, a digest-pinned base as a build argument, final
stages from scratch (no shell, package manager or compiler), UID 1001, exec-form entrypoints, HEALTHCHECK."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCKER = Path(__file__).resolve().parents[2] / "deploy" / "docker"
FILES = sorted(DOCKER.glob("*.Containerfile"))


def test_hadolint_passes() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    done = subprocess.run(
        [str(hadolint), "--config", str(DOCKER / ".hadolint.yaml"), *map(str, FILES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", ["backend.Containerfile", "frontend.Containerfile"])
def test_contract(name: str) -> None:
    text = (DOCKER / name).read_text()
    assert re.search(r"^ARG BASE_IMAGE=\S+@sha256:[0-9a-f]{64}$", text, re.M), "base pinned by digest"
    stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?$", text, re.M)
    assert len(stages) >= 3
    finals = [stage for image, stage in stages if image == "scratch"]
    assert finals, "final images are FROM scratch"
    for final in finals:
        block = text.split(f"FROM scratch AS {final}", 1)[1].split("\nFROM ", 1)[0]
        assert "RUN " not in block, f"{final}: nothing is installed in the final stage"
        assert "USER 1001:1001" in block
        assert re.search(r'^ENTRYPOINT \["', block, re.M), f"{final}: exec-form entrypoint"
        assert re.search(r"^HEALTHCHECK .*CMD \[", block, re.M | re.S), f"{final}: HEALTHCHECK"
    assert (DOCKER.parents[1] / ".dockerignore").exists()
