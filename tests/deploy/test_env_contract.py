"""The manifests and the application agree on configuration: every variable a pod sets is one the platform
reads, every Secret and ConfigMap key is consumed, and each production workload gets what it needs to start
(its environment, with stand-in secret values, passes the production settings checks)."""

from __future__ import annotations

import ast
from typing import Any

import pytest
from deploy_env import unavailable
from manifests import REPO, find, kubectl, pod_spec, render, workloads

from recon.config import Settings

SECRET_KEYS = {
    "database-url",
    "redis-url",
    "jwt-secret",
    "aws-access-key-id",
    "aws-secret-access-key",
    "backup-s3-bucket",
}
# Read by libraries rather than Settings: boto3 (credentials), the OpenTelemetry SDK.
LIBRARY_VARS = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "OTEL_SERVICE_NAME",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
}
STAND_IN = {
    "database-url": "postgresql://recon:secret@db.internal:5432/recon",
    "redis-url": "redis://redis.internal:6379/0",
    "jwt-secret": "q7Vd0tR2mXc9LwP4zKs8NbY1hJf6GuA3eTi5oZr",  # random-looking: production refuses "x" * 48
    "aws-access-key-id": "AKIAEXAMPLE",
    "aws-secret-access-key": "example-secret",
    "backup-s3-bucket": "reconciliation-backups",
}


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    if kubectl() is None:
        unavailable("kubectl", "not on PATH (it renders the kustomize overlays)")
    return render("production")


def settings_vars() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def environment(docs: list[dict[str, Any]], workload: dict[str, Any]) -> dict[str, str]:
    """The container's environment as Kubernetes builds it (ConfigMap, then env; secrets as stand-ins)."""
    container = pod_spec(workload)["containers"][0]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(find(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            env[item["name"]] = STAND_IN[item["valueFrom"]["secretKeyRef"]["key"]]
    return env


def test_every_variable_set_is_read(docs: list[dict[str, Any]]) -> None:
    known = settings_vars() | LIBRARY_VARS
    config = find(docs, "ConfigMap", "recon-config")["data"]
    assert set(config) - known == set(), "ConfigMap keys nothing reads"
    for workload in workloads(docs):
        container = pod_spec(workload)["containers"][0]
        names = {item["name"] for item in container.get("env", [])}
        assert names - known == set(), f"{workload['metadata']['name']} sets variables nothing reads"
        if workload["metadata"]["name"] == "recon-frontend":
            assert "env" not in container and "envFrom" not in container  # nginx reads no settings
        else:
            assert container["envFrom"] == [{"configMapRef": {"name": "recon-config"}}]


def test_every_secret_key_is_consumed(docs: list[dict[str, Any]]) -> None:
    used: set[str] = set()
    for workload in workloads(docs):
        for item in pod_spec(workload)["containers"][0].get("env", []):
            if "valueFrom" in item:
                ref = item["valueFrom"]["secretKeyRef"]
                assert ref["name"] == "recon-secrets"
                used.add(ref["key"])
    assert used == SECRET_KEYS


@pytest.mark.parametrize(
    ("kind", "name", "needs"),
    [
        ("Deployment", "recon-api", {"DATABASE_URL", "REDIS_URL", "JWT_SECRET", "AWS_ACCESS_KEY_ID"}),
        ("Deployment", "recon-worker", {"DATABASE_URL", "REDIS_URL", "JWT_SECRET", "AWS_ACCESS_KEY_ID"}),
        ("Job", "recon-migrate", {"DATABASE_URL"}),
        ("CronJob", "recon-backup", {"DATABASE_URL", "BACKUP_S3_BUCKET", "AWS_SECRET_ACCESS_KEY"}),
    ],
)
def test_workload_environment_passes_the_production_checks(
    docs: list[dict[str, Any]], kind: str, name: str, needs: set[str]
) -> None:
    env = environment(docs, find(docs, kind, name))
    assert needs <= set(env)
    fields = {key.lower(): value for key, value in env.items() if key in settings_vars()}
    settings = Settings(_env_file=None, **fields)  # raises naming any unsafe production value
    assert settings.environment == "production" and not settings.is_sqlite
    assert settings.storage_backend == "s3" and settings.s3_bucket
    assert settings.embedded_worker is False and settings.should_auto_migrate is False
    assert settings.metrics_port == 9091 and settings.port == 2000


def test_environment_reads_outside_settings_are_covered() -> None:
    """Variables read with os.environ / os.getenv outside Settings are set by the images or documented."""
    # Set in the images (ENV): ARROW_DEFAULT_MEMORY_POOL is defaulted by the CLI; DATA_DIR is also read by
    # `recon demo` (which imports no platform settings) to refuse writing into the platform's data directory.
    in_images = {"ARROW_DEFAULT_MEMORY_POOL", "DATA_DIR"}
    # The Spark backend's session (engine/spark/session.py, documented in docs/scaling.md): it runs in the CLI
    # or a submitted Spark job, never in the platform's images, so it reads no platform settings.
    spark = {"RECON_SPARK_MASTER", "RECON_SPARK_LOG_LEVEL", "PYSPARK_PYTHON"}
    # `recon match` with s3:// or s3a:// paths (ingest/remote.py, documented in docs/scaling.md) reads the
    # standard AWS variables as every AWS SDK does; the platform's own S3 settings stay in Settings.
    aws = {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION"}
    allowed = in_images | spark | aws
    scaling = (REPO / "docs" / "scaling.md").read_text()
    assert all(name in scaling for name in spark | aws)
    found: set[str] = set()
    for path in (REPO / "src" / "recon").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                func = ast.unparse(node.func)
                if func in {"os.getenv", "os.environ.get", "os.environ.setdefault"}:
                    found.add(str(node.args[0].value))
    assert found <= allowed
    containerfile = (REPO / "deploy" / "docker" / "backend.Containerfile").read_text()
    assert all(name in containerfile for name in in_images)
