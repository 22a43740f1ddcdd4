"""The web frontend's typed API client (frontend/src/api/schema.d.ts) is generated from the OpenAPI schema:
regenerating it from this checkout's schema must give the checked-in file, else an endpoint changed and
`cd frontend && npm run api:generate` was not run."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from recon.app import create_app
from recon.config import Settings
from shared_values import unavailable

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
CHECKED_IN = FRONTEND / "src" / "api" / "schema.d.ts"


def test_checked_in_api_client_matches_the_live_schema(tmp_path: Path) -> None:
    if shutil.which("node") is None or not (FRONTEND / "node_modules" / "openapi-typescript").is_dir():
        unavailable("node and the frontend's node modules", "run make frontend-deps")
    app = create_app(Settings(_env_file=None, environment="test", data_dir=tmp_path / "data"))  # type: ignore[call-arg]
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(app.openapi(), sort_keys=True))
    fresh = tmp_path / "schema.d.ts"
    subprocess.run(
        ["node", "scripts/generate-api.mjs", "--schema", str(schema), "--out", str(fresh)],
        cwd=FRONTEND,
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert fresh.read_text() == CHECKED_IN.read_text(), (
        "frontend/src/api/schema.d.ts is stale: run `cd frontend && npm run api:generate` and commit it"
    )
