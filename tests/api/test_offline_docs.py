"""/api/docs works offline: the page references only assets the app serves itself (no CDN)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_docs_page_loads_its_assets_from_the_app(client: TestClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.text
    assert "cdn" not in html.lower()
    sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html) + re.findall(r"url: ?'([^']+)'", html)
    assert sources, html
    for source in sources:
        assert not source.startswith(("http://", "https://", "//")), source
        assert client.get(source).status_code == 200, source
    assets = [s for s in sources if s.endswith((".js", ".css"))]
    assert len(assets) == 2
    bundle = client.get(next(s for s in assets if s.endswith(".js"))).text
    assert "isOAS31" in bundle  # Swagger UI 5: renders the OpenAPI 3.1 document FastAPI produces
