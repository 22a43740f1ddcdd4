"""The embedded mode serves the built SPA at `/`: client routes fall back to index.html (revalidated on every
load), hashed assets are cached for a year, and `/api` keeps answering problems, never the SPA."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from recon.app import create_app
from recon.config import Settings

INDEX = (
    '<!doctype html><html><body><div id="root"></div>'
    '<script src="/assets/index-abc123.js"></script></body></html>'
)


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A build as Vite lays it out: index.html, a hashed asset, a public file."""
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-abc123.js").write_text("console.log('app');")
    (root / "favicon.svg").write_text("<svg/>")
    return root


def test_client_routes_get_index_html_and_assets_are_immutable(
    make_settings: Callable[..., Settings], dist: Path
) -> None:
    with TestClient(create_app(make_settings(frontend_dist=dist))) as client:
        for path in ("/", "/projects", "/projects/p1/runs/r1?tab=breaks&pass=near"):
            page = client.get(path)
            assert page.status_code == 200, path
            assert page.text == INDEX
            assert page.headers["cache-control"] == "no-cache"
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        asset = client.get("/assets/index-abc123.js")
        assert asset.status_code == 200
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert client.get("/favicon.svg").text == "<svg/>"
        assert client.get("/assets/missing.js").status_code == 404


def test_api_paths_never_fall_back_to_the_spa(make_settings: Callable[..., Settings], dist: Path) -> None:
    with TestClient(create_app(make_settings(frontend_dist=dist))) as client:
        missing = client.get("/api/v1/no-such-thing")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
        assert client.post("/api/v1/no-such-thing").status_code == 404  # not 405 from the catch-all
        assert client.post("/projects").status_code == 404
        assert client.get("/api/v1/health").json()["status"] == "ok"
        assert client.get("/health").status_code == 200
        assert client.get("/api/v1/openapi.json").status_code == 200
        assert client.get("/../../etc/passwd").text in (INDEX, "")  # no file outside dist is served


def test_without_a_build_only_the_api_is_served(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    with TestClient(create_app(make_settings(frontend_dist=tmp_path / "not-built"))) as client:
        assert client.get("/projects").status_code == 404
        assert client.get("/api/v1/health").status_code == 200
