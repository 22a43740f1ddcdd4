"""The real images, run as the production overlay runs them (its memory and CPU limits, read-only root,
no capabilities, no new privileges, UID 1001): the api reaches /ready on a migrated database, the worker
starts, the frontend serves the SPA with its headers and /health; each image within its size target."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from containers import (
    BACKEND,
    FRONTEND,
    JWT,
    WORKER,
    Container,
    containers,
    free_port,
    image_size,
    podman,
    production_limits,
    record,
    unique,
    wait_http,
)

# The first test of a session may build the images (minutes on a clean machine).
pytestmark = pytest.mark.timeout(3600)

SIZE_TARGETS_MB = {BACKEND: 200, WORKER: 500, FRONTEND: 30}


def test_image_sizes(images: dict[str, bool]) -> None:
    figures: dict[str, object] = {}
    for image, target in SIZE_TARGETS_MB.items():
        if not images[image]:
            continue
        size = image_size(image)
        user = podman("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip()
        figures[image] = {"bytes": size, "mb": round(size / 1e6, 1), "target_mb": target}
        assert user == "1001:1001", image
        assert not _build_tools(image), f"{image} carries {_build_tools(image)}"
        assert size <= target * 1_000_000, f"{image}: {size / 1e6:.1f} MB > {target} MB"
    record("image_sizes", figures)


BUILD_TOOLS = ("bin/sh", "bin/bash", "bin/apt-get", "bin/dpkg", "bin/gcc", "bin/cc", "bin/pip", "bin/uv")


def _build_tools(image: str) -> list[str]:
    """Shells, package managers and compilers found in the image's filesystem (none may be)."""
    root = Path(podman("image", "mount", image).stdout.strip())
    try:
        return [
            f"{prefix}{tool}"
            for prefix in ("/", "/usr/", "/usr/local/", "/opt/venv/")
            for tool in BUILD_TOOLS
            if (root / f"{prefix}{tool}".lstrip("/")).exists()
        ]
    finally:
        podman("image", "unmount", image, check=False)


def _api_env(database_url: str, port: int, metrics_port: int) -> dict[str, str]:
    return {
        "ENVIRONMENT": "production",
        "DATABASE_URL": database_url,
        "JWT_SECRET": JWT,
        "PORT": str(port),
        "METRICS_PORT": str(metrics_port),
        "EMBEDDED_WORKER": "false",
        "AUTO_MIGRATE": "false",
        "LOG_LEVEL": "WARNING",
    }


def test_api_image_reaches_ready(images: dict[str, bool], pg_database: str) -> None:
    memory, cpus = production_limits("recon-api")
    port, metrics = free_port(), free_port()
    env = _api_env(pg_database, port, metrics)
    with containers() as made:
        migrate = Container(unique("recon-migrate"), BACKEND, ["db", "upgrade"], env, memory, cpus)
        done = migrate.run_once()
        assert done.returncode == 0 and "(head)" in done.stdout, done.stderr
        api = Container(unique("recon-api"), BACKEND, ["serve"], env, memory, cpus)
        made.append(api.start())
        cold_start_s = wait_http(f"http://127.0.0.1:{port}/ready", api)
        assert api.status("Uid").split()[0] == "1001"
        assert api.inspect("{{.HostConfig.ReadonlyRootfs}}") == "true"
        assert api.inspect("{{.HostConfig.CapDrop}}") != "[]"
        assert httpx.get(f"http://127.0.0.1:{port}/health").json() == {"status": "ok"}
        body = httpx.get(f"http://127.0.0.1:{metrics}/metrics").text
        assert "recon_http_requests_total" in body
        time.sleep(2)
        idle_rss = api.rss_bytes()
        record(
            "api_container",
            {
                "cold_start_to_ready_s": round(cold_start_s, 2),
                "idle_rss_mb": round(idle_rss / 2**20, 1),
                "memory_limit": memory,
                "cpus": cpus,
            },
        )
        assert idle_rss < 256 * 2**20
        api.stop()
        assert api.inspect("{{.State.ExitCode}}") == "0", api.logs()  # SIGTERM: drained and exited 0


def test_worker_image_starts(images: dict[str, bool], pg_database: str) -> None:
    env = _api_env(pg_database, free_port(), free_port()) | {"LOG_LEVEL": "INFO"}
    with containers() as made:
        Container(unique("recon-migrate"), BACKEND, ["db", "upgrade"], env).run_once()
        worker = Container(unique("recon-worker"), WORKER, ["worker"], env, "3g", "2")
        made.append(worker.start())
        deadline = time.monotonic() + 60
        while "worker_started" not in worker.logs():
            assert worker.running() and time.monotonic() < deadline, worker.logs()
            time.sleep(0.2)
        health = podman(
            "exec", worker.name, "/opt/venv/bin/python", "/app/healthcheck.py", "--database", check=False
        )
        assert health.returncode == 0, health.stderr
        assert worker.status("Uid").split()[0] == "1001"
        worker.stop()
        assert worker.inspect("{{.State.ExitCode}}") == "0", worker.logs()


def test_frontend_image_serves_the_spa(frontend_image: str) -> None:
    memory, cpus = production_limits("recon-frontend")
    with containers() as made:
        port = free_port()
        frontend = Container(
            unique("recon-frontend"),
            frontend_image,
            [],
            {},
            memory,
            cpus,
            tmpfs=("/tmp",),
            publish=(f"127.0.0.1:{port}:8080",),
        )
        made.append(frontend.start())
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/health", frontend, timeout_s=30)
        health = httpx.get(f"{base}/health")
        assert health.json() == {"status": "ok"}
        index = httpx.get(f"{base}/", headers={"Accept-Encoding": "gzip"})
        assert index.status_code == 200 and "<div id=" in index.text
        assert index.headers["cache-control"] == "no-cache"
        csp = index.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert index.headers["x-content-type-options"] == "nosniff"
        route = httpx.get(f"{base}/projects/some-id/runs")  # a client-side route: the SPA fallback
        assert route.status_code == 200 and route.text == index.text
        asset = next(part.split('"')[0] for part in index.text.split('src="/assets/')[1:])
        script = httpx.get(f"{base}/assets/{asset}", headers={"Accept-Encoding": "gzip"})
        assert script.status_code == 200
        assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert script.headers.get("content-encoding") == "gzip"
        assert httpx.get(f"{base}/assets/missing.js").status_code == 404
        health_check = podman("exec", frontend.name, "/usr/local/bin/healthcheck", check=False)  # HEALTHCHECK
        assert health_check.returncode == 0, health_check.stdout + health_check.stderr
        assert frontend.status("Uid").split()[0] == "1001"
        rss = frontend.rss_bytes()
        frontend.stop(10)
        assert frontend.inspect("{{.State.ExitCode}}") == "0", frontend.logs()  # SIGQUIT: graceful
        record("frontend_container", {"nginx_master_rss_mb": round(rss / 2**20, 1), "memory_limit": memory})
