"""`recon backup`: a backup to S3 (moto server) and a restore into an empty database reproduce every table
(row counts and content checksums) and the audit chains; a tampered dump, a non-empty target and a broken
audit trail are refused; retention keeps the newest backups. PostgreSQL and SQLite (embedded mode)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from recon.app import create_app
from recon.backup import database as db
from recon.backup.manifest import Manifest, TableStats
from recon.backup.service import create_backup, list_backups, prune, restore_backup
from recon.backup.targets import DirTarget, target_from_settings
from recon.config import Settings
from recon.core.migrations import upgrade_head
from shared_values import PG_ADMIN_URL, TEST_JWT_SECRET, unavailable

ADMIN = {"email": "backup-admin@example.com", "password": "backup-admin-password-1"}
CSV = "id,date,amount,reference\n" + "".join(
    f"B-{i},2024-03-{1 + i % 28:02d},{i * 7}.{i % 100:02d},REF-{i}\n" for i in range(1, 301)
)


class Databases:
    """Throw-away databases of one backend: `new()` an empty one, `drop(url)`."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.backend, self.tmp_path, self.created = backend, tmp_path, []
        if backend == "postgres":
            self.admin = create_engine(
                PG_ADMIN_URL,
                isolation_level="AUTOCOMMIT",
                poolclass=NullPool,
                connect_args={"connect_timeout": 3},
            )
            try:
                with self.admin.connect() as conn:
                    conn.execute(text("SELECT 1"))
            except Exception as exc:
                unavailable("PostgreSQL", str(exc).splitlines()[0])

    def new(self, name: str | None = None) -> str:
        name = name or f"recon_backup_{uuid.uuid4().hex[:10]}"
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp_path / (name + '.db')}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.admin.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> str:
        """Drop the database; returns the name, free for an empty database of the same name."""
        if self.backend == "sqlite":
            path = db.sqlite_path(url)
            path.unlink()
            return path.stem
        name = url.rsplit("/", 1)[-1]
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        return name

    def close(self) -> None:
        if self.backend == "postgres":
            with self.admin.connect() as conn:
                for name in self.created:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self.admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    dbs = Databases(request.param, tmp_path)
    yield dbs
    dbs.close()


def _settings(url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "database_url": url,
        "data_dir": tmp_path / "data",
        "jwt_secret": TEST_JWT_SECRET,
        "redis_url": None,
        "otel_exporter_otlp_endpoint": None,
        "rate_limit_enabled": False,
        "metrics_port": 0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def _seed(settings: Settings) -> None:
    """Users, a project, an ingested dataset (money, JSON, timestamps) and audit events, through the API."""
    upgrade_head(settings)
    app = create_app(
        Settings(
            _env_file=None,
            **{
                **settings.model_dump(),
                "jwt_secret": TEST_JWT_SECRET,
                "recon_admin_email": ADMIN["email"],
                "recon_admin_password": ADMIN["password"],
            },
        )
    )
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/login", json=ADMIN).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        project = client.post("/api/v1/projects", json={"name": "backed up"}, headers=headers).json()
        url = f"/api/v1/projects/{project['id']}/datasets"
        dataset = client.post(url, files={"file": ("b.csv", CSV, "text/csv")}, headers=headers).json()
        deadline = time.monotonic() + 60
        while client.get(f"{url}/{dataset['id']}", headers=headers).json()["status"] != "ready":
            assert time.monotonic() < deadline, "dataset not ingested"
            time.sleep(0.05)


def _stats(url: str) -> dict[str, TableStats]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection, connection.begin():
            return db.table_stats(connection)
    finally:
        engine.dispose()


def test_round_trip_through_s3(
    databases: Databases, tmp_path: Path, moto_endpoint: str, s3_bucket: str
) -> None:
    source = databases.new()
    s3 = {"backup_s3_bucket": s3_bucket, "s3_endpoint_url": moto_endpoint, "s3_region": "us-east-1"}
    settings = _settings(source, tmp_path, **s3)
    _seed(settings)
    before = _stats(source)
    assert before["dataset_records"].rows == 300 and before["audit_events"].rows > 0

    target = target_from_settings(settings)
    manifest = create_backup(settings, target)
    assert manifest.tables == before and manifest.audit_events == before["audit_events"].rows
    assert [m.backup_id for m in list_backups(target)] == [manifest.backup_id]

    name = databases.drop(source)
    restored = databases.new(name) if databases.backend == "postgres" else source
    report = restore_backup(_settings(restored, tmp_path, **s3), target, "latest")
    assert report.ok, report.problems
    assert report.tables_checked == len(before) and report.rows_checked == sum(
        s.rows for s in before.values()
    )
    assert _stats(restored) == before  # independently of the manifest


def test_tampered_dump_and_non_empty_target_are_refused(
    databases: Databases, tmp_path: Path, moto_endpoint: str, s3_bucket: str
) -> None:
    import boto3

    source = databases.new()
    s3 = {"backup_s3_bucket": s3_bucket, "s3_endpoint_url": moto_endpoint, "s3_region": "us-east-1"}
    settings = _settings(source, tmp_path, **s3)
    _seed(settings)
    target = target_from_settings(settings)
    manifest = create_backup(settings, target)

    with pytest.raises(db.BackupError, match=r"not empty|exists"):
        restore_backup(settings, target, manifest.backup_id)  # the source itself is not empty

    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    key = f"backups/{manifest.backup_id}/{manifest.dump_file}"
    body = bytearray(client.get_object(Bucket=s3_bucket, Key=key)["Body"].read())
    body[len(body) // 2] ^= 0xFF
    client.put_object(Bucket=s3_bucket, Key=key, Body=bytes(body))
    empty = databases.new()
    with pytest.raises(db.BackupError, match="sha256"):
        restore_backup(_settings(empty, tmp_path, **s3), target, manifest.backup_id)
    assert _stats(empty) == {} if databases.backend == "postgres" else not db.sqlite_path(empty).exists()


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_broken_audit_trail_is_not_backed_up(settings: Settings, make_project: Callable[..., object]) -> None:
    from recon.audit.service import record_event
    from recon.core.db import create_db_engine, create_session_factory, session_scope

    project = make_project()
    engine = create_db_engine(settings)
    with session_scope(create_session_factory(engine)) as session:
        record_event(
            session,
            action="test.event",
            actor_id=None,
            project_id=project.id,  # type: ignore[attr-defined]
            entity_type="project",
            entity_id=project.id,
            data={"n": 1},
        )  # type: ignore[attr-defined]
    with engine.begin() as conn:  # SQLite's guard is a trigger: drop it to tamper like an attacker would
        for (name,) in conn.execute(text("SELECT name FROM sqlite_master WHERE type='trigger'")).all():
            conn.execute(text(f'DROP TRIGGER "{name}"'))
        conn.execute(text("UPDATE audit_events SET data = '{\"n\": 2}'"))
    engine.dispose()
    with pytest.raises(db.BackupError, match="audit trail is broken"):
        create_backup(settings, DirTarget(settings.data_dir / "backups"))


def test_retention_keeps_the_newest(tmp_path: Path) -> None:
    target = DirTarget(tmp_path / "backups")
    now = dt.datetime(2026, 6, 30, tzinfo=dt.UTC)
    for age_days in (0, 1, 2, 40, 41, 42, 43):
        created = now - dt.timedelta(days=age_days)
        manifest = Manifest(
            backup_id=f"b{age_days:02d}",
            created_at=created,
            backend="sqlite",
            dump_file="d",
            dump_format="sqlite-gzip",
            size=1,
            sha256="0",
            alembic_revisions=[],
            tables={},
        )
        target.put_bytes(manifest.backup_id, "manifest.json", manifest.to_json())
    target.put_bytes("incomplete", "database.sqlite.gz", b"x")  # no manifest: never listed nor pruned
    settings = _settings("sqlite:///unused.db", tmp_path, backup_retention_days=30, backup_keep_min=5)
    deleted = prune(settings, target, now=now)
    assert sorted(deleted) == ["b42", "b43"]  # 40 and 41 days old stay: the newest five are always kept
    assert [m.backup_id for m in list_backups(target)] == ["b00", "b01", "b02", "b40", "b41"]
    assert target.has("incomplete", "database.sqlite.gz")


def test_cli_create_list_restore(tmp_path: Path) -> None:
    """The commands as an operator runs them (embedded mode: SQLite, backups in BACKUP_DIR)."""
    source = tmp_path / "source.db"
    settings = _settings(f"sqlite:///{source}", tmp_path)
    _seed(settings)
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{source}",
        "BACKUP_DIR": str(tmp_path / "bk"),
        "DATA_DIR": str(tmp_path / "data"),
        "ENVIRONMENT": "test",
        "LOG_FORMAT": "console",
        "LOG_LEVEL": "WARNING",
    }
    recon = [sys.executable, "-m", "recon.cli"]

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*recon, "backup", *args],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    created = run("create")
    assert created.returncode == 0, created.stderr
    backup_id = created.stdout.split("backup ", 1)[1].split()[0]
    listed = run("list")
    assert listed.returncode == 0 and backup_id in listed.stdout
    restored_db = tmp_path / "restored.db"
    restored = run("restore", backup_id, DATABASE_URL=f"sqlite:///{restored_db}")
    assert restored.returncode == 0, restored.stderr
    assert "verified" in restored.stdout
    again = run("restore", backup_id, DATABASE_URL=f"sqlite:///{restored_db}")
    assert again.returncode == 1 and "empty database" in again.stderr
    assert _stats(f"sqlite:///{restored_db}") == _stats(f"sqlite:///{source}")
