"""Real containers for tests/deploy: podman (runc, cgroupfs) running the project's images the way the
production overlay runs them: its memory/CPU limits, read-only root filesystem, no capabilities, no new
privileges, UID 1001, writable paths as explicit tmpfs volumes. Host networking on loopback ports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from manifests import REPO, find, render

PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs"]
ULIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096"]
BACKEND = "localhost/reconciliation-backend:latest"
WORKER = "localhost/reconciliation-worker:latest"
FRONTEND = "localhost/reconciliation-frontend:latest"
JWT = "deploy-test-jwt-secret-0123456789abcdef0123"


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*PODMAN, *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:3])}: exit {done.returncode}: {done.stderr[-2000:]}")
    return done


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def quantity(value: str) -> float:
    """Kubernetes quantities: "350m" CPU -> 0.35; "350Mi" -> bytes."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "m": 1e-3}
    for suffix, factor in units.items():
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    return float(value)


def production_limits(deployment: str) -> tuple[str, str]:
    """(--memory, --cpus) from the production overlay's limits of that Deployment."""
    container = find(render("production"), "Deployment", deployment)["spec"]["template"]["spec"][
        "containers"
    ][0]
    limits = container["resources"]["limits"]
    return f"{int(quantity(limits['memory']) // 2**20)}m", f"{quantity(limits['cpu']):g}"


def image_size(image: str) -> int:
    return int(podman("image", "inspect", "--format", "{{.Size}}", image).stdout.strip())


def image_exists(image: str) -> bool:
    return podman("image", "exists", image, check=False).returncode == 0


@dataclass
class Container:
    name: str
    image: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    memory: str | None = None
    cpus: str | None = None
    tmpfs: tuple[str, ...] = ("/tmp", "/data")
    volumes: tuple[str, ...] = ()
    # Host networking (loopback ports), or published ports ("127.0.0.1:HOST:CONTAINER") on podman's network.
    publish: tuple[str, ...] = ()
    started_at: float = 0.0

    def run_args(self) -> list[str]:
        network = [arg for port in self.publish for arg in ("-p", port)] or ["--network", "host"]
        args = [
            "--name",
            self.name,
            *network,
            "--read-only",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--user",
            "1001:1001",
            "--no-healthcheck",
            *ULIMITS,
        ]
        for path in self.tmpfs:
            args += ["--tmpfs", f"{path}:rw,size=1g,U"]  # U: owned by the container user (1001)
        for volume in self.volumes:
            args += ["-v", volume]
        if self.memory:
            args += ["--memory", self.memory, "--memory-swap", self.memory]
        if self.cpus:
            args += ["--cpus", self.cpus]
        for key, value in self.env.items():
            args += ["-e", f"{key}={value}"]
        return args

    def start(self) -> Container:
        podman("rm", "-f", self.name, check=False)
        self.started_at = time.monotonic()
        podman("run", "-d", *self.run_args(), self.image, *self.args)
        return self

    def restart(self) -> None:
        """Start the stopped container again (same configuration)."""
        self.started_at = time.monotonic()
        podman("start", self.name)

    def stop(self, timeout_s: int = 45) -> None:
        """SIGTERM (the image's stop signal), then SIGKILL after timeout_s: what the kubelet does."""
        podman("stop", "-t", str(timeout_s), self.name, timeout=timeout_s + 30)

    def kill(self) -> None:
        podman("kill", "-s", "KILL", self.name)

    def run_once(self, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run to completion (`podman run --rm`), e.g. `db upgrade` or `backup create`."""
        podman("rm", "-f", self.name, check=False)
        return podman("run", "--rm", *self.run_args(), self.image, *self.args, timeout=timeout, check=False)

    def inspect(self, template: str) -> str:
        return podman("inspect", "--format", template, self.name).stdout.strip()

    def running(self) -> bool:
        return self.inspect("{{.State.Running}}") == "true"

    def pid(self) -> int:
        return int(self.inspect("{{.State.Pid}}"))

    def status(self, key: str) -> str:
        """A field of the main process's /proc status (VmRSS, VmHWM, Uid, ...)."""
        for line in Path(f"/proc/{self.pid()}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return line.split(":", 1)[1].strip()
        raise KeyError(key)

    def rss_bytes(self) -> int:
        return int(self.status("VmRSS").split()[0]) * 1024

    def peak_rss_bytes(self) -> int:
        return int(self.status("VmHWM").split()[0]) * 1024

    def logs(self) -> str:
        done = podman("logs", "--tail", "60", self.name, check=False)
        return done.stdout + done.stderr

    def remove(self) -> None:
        podman("rm", "-f", "-t", "5", self.name, check=False)


def wait_http(url: str, container: Container, timeout_s: float = 120, status: int = 200) -> float:
    """Seconds from the container's (re)start until `url` answers `status`."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == status:
                return time.monotonic() - container.started_at
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} not {status} after {timeout_s} s; logs:\n{container.logs()}")
        if not container.running():
            raise AssertionError(f"{container.name} exited; logs:\n{container.logs()}")
        time.sleep(0.05)


@contextmanager
def containers() -> Iterator[list[Container]]:
    """Collects containers; all are removed at the end."""
    made: list[Container] = []
    try:
        yield made
    except BaseException:
        for container in made:  # what each container said, before it is gone
            print(f"--- logs of {container.name} ---\n{container.logs()}")
        raise
    finally:
        for container in made:
            container.remove()


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


MEASUREMENTS = REPO / "deploy" / "out" / "measurements.json"


def record(section: str, figures: dict[str, object]) -> None:
    """Adds measured figures to deploy/out/measurements.json (the figures docs/operations.md reports)."""
    MEASUREMENTS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(MEASUREMENTS.read_text()) if MEASUREMENTS.exists() else {}
    data[section] = figures
    MEASUREMENTS.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(section, figures)
