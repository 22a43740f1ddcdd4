"""The API process starts without the data stack: importing `recon.app`, `create_app()` and the lifespan (with
the embedded worker) load none of the libraries only jobs need, and a CSV ingestion job loads no engine.
Each check runs in a fresh interpreter, because the test process has imported everything already."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from recon.config import Settings

DATA_STACK = ["duckdb", "scipy", "pyarrow", "polars", "boto3", "openpyxl", "rapidfuzz", "pandas", "numpy"]
# After an ingestion pyarrow and numpy are loaded. pandas may be too: pyarrow's pandas shim imports it when it
# is installed (here via the bench group's datacompy; it is not a runtime dependency), so it is not checked.
ENGINE_ONLY = ["duckdb", "scipy", "polars", "boto3", "openpyxl", "rapidfuzz", "recon.engine.executor"]

SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from fastapi.testclient import TestClient
    from recon.app import create_app
    from recon.config import Settings

    def loaded(names):
        return [name for name in names if name in sys.modules]

    config = json.loads(sys.argv[1])
    found = {}
    app = create_app(Settings(_env_file=None, **config["settings"]))
    found["create_app"] = loaded(config["data_stack"])
    with TestClient(app) as client:
        assert client.get("/ready").status_code == 200
        found["ready"] = loaded(config["data_stack"])
        credentials = {"email": config["email"], "password": config["password"]}
        login = client.post("/api/v1/auth/login", json=credentials)
        headers = {"Authorization": "Bearer " + login.json()["access_token"]}
        project = client.post("/api/v1/projects", headers=headers, json={"name": "imports"}).json()
        csv = "id,date,amount,reference\\nA-1,2024-03-01,12.50,REF-1\\nA-2,2024-03-02,7.25,REF-2\\n"
        url = f"/api/v1/projects/{project['id']}/datasets"
        dataset = client.post(url, headers=headers, files={"file": ("a.csv", csv, "text/csv")}).json()
        deadline = time.monotonic() + 60
        while client.get(f"{url}/{dataset['id']}", headers=headers).json()["status"] != "ready":
            assert time.monotonic() < deadline, "the dataset was not ingested"
            time.sleep(0.05)
        found["after_ingestion"] = loaded(config["engine_only"])
    print(json.dumps(found))
    """
)


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_api_process_loads_the_data_stack_only_for_jobs(settings: Settings) -> None:
    password = "import-check-password-1"
    config = {
        "settings": {
            **settings.model_dump(
                mode="json", include={"environment", "database_url", "data_dir", "metrics_port"}
            ),
            "jwt_secret": settings.jwt_secret.get_secret_value(),
            "redis_url": None,
            "otel_exporter_otlp_endpoint": None,
            "rate_limit_enabled": False,
            "embedded_worker": True,
            "recon_admin_email": "imports@example.com",
            "recon_admin_password": password,
        },
        "email": "imports@example.com",
        "password": password,
        "data_stack": DATA_STACK,
        "engine_only": ENGINE_ONLY,
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {"create_app": [], "ready": [], "after_ingestion": []}
