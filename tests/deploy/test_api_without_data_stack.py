"""The api image has no data stack: in an interpreter where duckdb, pyarrow, numpy, scipy, polars and
rapidfuzz cannot be imported, the API starts, gets ready and enqueues every kind of job (an upload's
ingestion, a run, a dry run, an export) for the workers. A mirror of the image that needs no image."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from recon.app import create_app
from recon.config import Settings
from recon.demo import generate
from recon.models import Project, Role, User

BLOCKED = ["duckdb", "pyarrow", "numpy", "scipy", "polars", "rapidfuzz"]
SCRIPT = textwrap.dedent(
    """
    import json, sys
    blocked = set(json.loads(sys.argv[2]))

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in blocked:
                raise ImportError(f"{name} is not in the api image")

    sys.meta_path.insert(0, Blocker())
    from fastapi.testclient import TestClient
    from recon.app import create_app
    from recon.config import Settings

    config = json.loads(sys.argv[1])
    out = {}
    with TestClient(create_app(Settings(_env_file=None, **config["settings"]))) as client:
        headers = config["headers"]
        project, base = config["project"], "/api/v1/projects/" + config["project"]
        out["ready"] = client.get("/ready").status_code
        body = {"left_dataset_id": config["left"], "right_dataset_id": config["right"]}
        run = client.post(base + "/runs", json={**body, "ruleset_id": config["ruleset"]}, headers=headers)
        out["run"] = run.status_code
        dry = client.post(base + "/rulesets/" + config["ruleset"] + "/dry-run", json=body, headers=headers)
        out["dry_run"] = dry.status_code
        csv = "id,date,amount\\nA-1,2024-03-01,12.50\\n"
        upload = client.post(base + "/datasets", files={"file": ("a.csv", csv, "text/csv")}, headers=headers)
        out["upload"] = upload.status_code
        out["loaded"] = sorted({m.split(".")[0] for m in sys.modules} & blocked)
    print(json.dumps(out))
    """
)


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_api_runs_without_the_data_stack(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Callable[[User | str], dict[str, str]],
) -> None:
    settings = make_settings()
    project = make_project()
    headers = auth_headers(make_user(role=Role.PREPARER, project=project))
    files = generate(40, tmp_path / "demo", seed=3)
    ids = []
    with TestClient(create_app(settings)) as client:  # ingestion by the embedded worker, data stack loaded
        for path in (files.left, files.right):
            url = f"/api/v1/projects/{project.id}/datasets"
            created = client.post(
                url, files={"file": (path.name, path.read_bytes(), "text/csv")}, headers=headers
            )
            deadline = time.monotonic() + 60
            while client.get(f"{url}/{created.json()['id']}", headers=headers).json()["status"] != "ready":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            ids.append(created.json()["id"])
        ruleset = client.post(
            f"/api/v1/projects/{project.id}/rulesets",
            json={"name": "demo", "text": files.rules.read_text()},
            headers=headers,
        ).json()["id"]
    config = {
        "settings": {
            **settings.model_dump(mode="json", include={"environment", "database_url", "data_dir"}),
            "jwt_secret": settings.jwt_secret.get_secret_value(),
            "embedded_worker": False,
            "rate_limit_enabled": False,
            "metrics_port": 0,
            "dry_run_timeout_s": 1.0,
        },
        "headers": headers,
        "project": project.id,
        "left": ids[0],
        "right": ids[1],
        "ruleset": ruleset,
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(config), json.dumps(BLOCKED)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    # the dry run is enqueued and answered 503 after DRY_RUN_TIMEOUT_S: no worker runs in this test
    assert found == {"ready": 200, "run": 202, "dry_run": 503, "upload": 202, "loaded": []}
