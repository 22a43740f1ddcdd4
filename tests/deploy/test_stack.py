"""A production-like stack on one machine, from the real images: the frontend image (nginx) proxying /api to
two api containers, one worker container, S3 on a moto server, the machine's PostgreSQL (a throw-away
database) and Redis. Through the frontend: the end-to-end flow (upload, run, review, approve, export); under
a steady, bounded loopback load the api containers restart one at a time with SIGTERM without a failed
request; the worker is killed during a run and the run completes after it is back, with identical results;
a backup to S3, the database dropped, a restore verified by row counts, table checksums and the audit chain.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from containers import (
    BACKEND,
    JWT,
    WORKER,
    Container,
    containers,
    free_port,
    production_limits,
    record,
    unique,
    wait_http,
)
from deploy_env import PG_ADMIN_URL, USER_PASSWORD
from manifests import REPO
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from recon.auth.security import hash_password
from recon.backup import database as backup_db
from recon.config import Settings
from recon.core.db import create_db_engine, create_session_factory, session_scope
from recon.demo import generate
from recon.models import ProjectMember, User

ADMIN = {"email": "stack-admin@example.com", "password": "stack-admin-password-1"}
ROWS = 40_000  # per side: a run takes a few seconds, so the worker can be killed in the middle of one
WAIT_S = 300.0  # deadlines, not timing assertions
LOAD_THREADS = 4
LOAD_MAX_REQUESTS = 20_000  # per thread: the load is bounded in count as well as in time


class Api:
    """The platform's API as a browser reaches it: through the frontend container."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base + "/api/v1", timeout=60)
        self.tokens: dict[str, str] = {}

    def login(self, who: str, email: str, password: str) -> None:
        response = self.http.post("/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        self.tokens[who] = response.json()["access_token"]

    def call(self, who: str, method: str, path: str, expect: int | None = 200, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        response = self.http.request(method, path, headers=headers, **kwargs)
        if expect is not None:
            assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response

    def wait(self, who: str, path: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_S
        while True:
            body: dict[str, Any] = self.call(who, "GET", path).json()
            if done(body):
                return body
            assert time.monotonic() < deadline, f"timed out waiting for {path}: {body}"
            time.sleep(0.2)

    def walk(self, who: str, path: str, **params: Any) -> list[dict[str, Any]]:
        items, cursor = [], None
        while True:
            query = {**params, "limit": 1000, **({"cursor": cursor} if cursor else {})}
            body = self.call(who, "GET", path, params=query).json()
            items += body["items"]
            if not (cursor := body["next_cursor"]):
                return items


def _nginx_config(tmp_path: Path, port: int, api_ports: list[int]) -> list[str]:
    """The image's nginx.conf on a free port, plus the single-host /api proxy (docs/operations.md)."""
    conf = (REPO / "deploy" / "docker" / "nginx" / "nginx.conf").read_text()
    conf = conf.replace("listen 8080 ", f"listen {port} ").replace(
        "listen [::]:8080 ", f"listen [::]:{port} "
    )
    (tmp_path / "nginx.conf").write_text(conf)
    confd = tmp_path / "conf.d"
    confd.mkdir()
    # As deploy/docker/nginx/api-proxy.location.conf recommends: fail_timeout below SHUTDOWN_DRAIN_S (a
    # replica marked failed while it restarted is tried again before the next one stops), idle keepalive
    # connections closed by nginx before the api would close them.
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;\n" for p in api_ports)
    (confd / "api.upstream.conf").write_text(
        f"upstream recon_api {{\n{servers}    keepalive 16;\n    keepalive_timeout 50s;\n}}\n"
    )
    (confd / "api.location.conf").write_text(
        (REPO / "deploy" / "docker" / "nginx" / "api-proxy.location.conf").read_text()
    )
    return [f"{tmp_path / 'nginx.conf'}:/etc/nginx/nginx.conf:ro", f"{confd}:/etc/nginx/conf.d:ro"]


def _make_member(database_url: str, project_id: str, role: str, email: str) -> None:
    engine = create_db_engine(Settings(_env_file=None, database_url=database_url))
    try:
        with session_scope(create_session_factory(engine)) as session:
            org_id = session.execute(text("SELECT org_id FROM projects WHERE id = :id"), {"id": project_id})
            user = User(
                org_id=org_id.scalar_one(),
                email=email,
                full_name=role,
                password_hash=hash_password(USER_PASSWORD),
            )
            session.add(user)
            session.flush()
            session.add(ProjectMember(project_id=project_id, user_id=user.id, role=role))
    finally:
        engine.dispose()


def _results(api: Api, run_id: str) -> Counter[tuple[str, ...]]:
    """The run's groups as (status, rule, left ids, right ids) rows: comparable between two runs."""
    body = api.call("preparer", "GET", f"/runs/{run_id}/export.csv", params={"what": "groups"}).text
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows, "no groups exported"
    skip = {name for name in rows[0] if name.endswith("_id") or name in {"id", "version", "created_at"}}
    return Counter(tuple(value for key, value in row.items() if key not in skip) for row in rows)


def _stats(url: str) -> dict[str, backup_db.TableStats]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"), poolclass=NullPool)
    try:
        with engine.connect() as connection, connection.begin():
            return backup_db.table_stats(connection)
    finally:
        engine.dispose()


@pytest.mark.timeout(3600)
def test_production_like_stack(
    images: dict[str, bool],
    frontend_image: str,
    pg_database: str,
    moto_endpoint: str,
    s3_bucket: str,
    redis_url: str,
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    api_ports, metrics_ports, front_port = [free_port(), free_port()], [free_port(), free_port()], free_port()
    env = {
        "ENVIRONMENT": "production",
        "DATABASE_URL": pg_database,
        "JWT_SECRET": JWT,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": redis_prefix,
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": s3_bucket,
        "S3_ENDPOINT_URL": moto_endpoint,
        "S3_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "EMBEDDED_WORKER": "false",
        "AUTO_MIGRATE": "false",
        "LOG_LEVEL": "WARNING",
        "SHUTDOWN_TIMEOUT_S": "10",
        "SHUTDOWN_DRAIN_S": "3",  # production: 10 (ConfigMap); nginx here learns of the drain from refusals
        "JOB_LEASE_S": "6",
        "JOB_POLL_INTERVAL_S": "0.5",
        "BACKUP_S3_BUCKET": s3_bucket,
    }
    api_memory, api_cpus = production_limits("recon-api")
    worker_memory, worker_cpus = production_limits("recon-worker")
    front_memory, front_cpus = production_limits("recon-frontend")
    figures: dict[str, Any] = {
        "api_limits": [api_memory, api_cpus],
        "worker_limits": [worker_memory, worker_cpus],
    }
    with containers() as made:
        done = Container(unique("recon-migrate"), BACKEND, ["db", "upgrade"], env).run_once()
        assert done.returncode == 0, done.stderr
        apis = []
        for index, (port, metrics) in enumerate(zip(api_ports, metrics_ports, strict=True)):
            extra = {"PORT": str(port), "METRICS_PORT": str(metrics)}
            if index == 0:  # the first administrator, created once by the first replica
                extra |= {"RECON_ADMIN_EMAIL": ADMIN["email"], "RECON_ADMIN_PASSWORD": ADMIN["password"]}
            api = Container(
                unique(f"recon-api{index}"), BACKEND, ["serve"], env | extra, api_memory, api_cpus
            )
            made.append(api.start())
            figures.setdefault("api_cold_start_s", []).append(
                round(wait_http(f"http://127.0.0.1:{port}/ready", api), 2)
            )
            apis.append(api)
        worker = Container(unique("recon-worker"), WORKER, ["worker"], env, worker_memory, worker_cpus)
        made.append(worker.start())
        front = Container(
            unique("recon-frontend"),
            frontend_image,
            [],
            {},
            front_memory,
            front_cpus,
            tmpfs=("/tmp",),
            volumes=tuple(_nginx_config(tmp_path, front_port, api_ports)),
        )
        made.append(front.start())
        base = f"http://127.0.0.1:{front_port}"
        wait_http(f"{base}/health", front, timeout_s=30)
        assert "<div id=" in httpx.get(base + "/").text
        time.sleep(1)
        figures["api_idle_rss_mb"] = [round(a.rss_bytes() / 2**20, 1) for a in apis]
        figures["worker_idle_rss_mb"] = round(worker.rss_bytes() / 2**20, 1)

        record("stack", figures)

        # -- end to end through the frontend: upload, run, review, approve, export ---------------------------
        api = Api(base)
        api.login("admin", ADMIN["email"], ADMIN["password"])
        project = api.call("admin", "POST", "/projects", 201, json={"name": "stack"}).json()
        for role in ("preparer", "approver"):
            _make_member(pg_database, project["id"], role, f"{role}@example.com")
            api.login(role, f"{role}@example.com", USER_PASSWORD)
        demo = generate(ROWS, tmp_path / "demo", seed=21)
        datasets = []
        for path in (demo.left, demo.right):
            files = {"file": (path.name, path.read_bytes(), "text/csv")}
            created = api.call("preparer", "POST", f"/projects/{project['id']}/datasets", None, files=files)
            assert created.status_code in (201, 202), created.text
            ready = api.wait(
                "preparer",
                f"/projects/{project['id']}/datasets/{created.json()['id']}",
                lambda d: d["status"] in ("ready", "failed"),
            )
            assert ready["status"] == "ready", ready
            datasets.append(ready["id"])
        rules = demo.rules.read_text().replace(
            "    min_score: 0.65\n", "    min_score: 0.65\n    suggest: true\n"
        )
        ruleset = api.call(
            "preparer",
            "POST",
            f"/projects/{project['id']}/rulesets",
            201,
            json={"name": "ledger-vs-bank", "text": rules},
        ).json()
        run_body = {
            "left_dataset_id": datasets[0],
            "right_dataset_id": datasets[1],
            "ruleset_id": ruleset["id"],
        }
        dry = api.call(
            "preparer",
            "POST",
            f"/projects/{project['id']}/rulesets/{ruleset['id']}/dry-run",
            200,
            json={"left_dataset_id": datasets[0], "right_dataset_id": datasets[1]},
        )
        assert dry.json()["summary"]["left"]["rows"] == ROWS  # the engine ran on the worker, not in the api
        first = api.call("preparer", "POST", f"/projects/{project['id']}/runs", 202, json=run_body).json()
        first = api.wait("preparer", f"/runs/{first['id']}", lambda r: r["status"] in ("succeeded", "failed"))
        assert first["status"] == "succeeded", first
        reference = _results(api, first["id"])  # before the review below changes group statuses
        figures["worker_peak_rss_after_run_mb"] = round(worker.peak_rss_bytes() / 2**20, 1)
        runs = f"/runs/{first['id']}"
        suggested = api.walk("preparer", f"{runs}/groups", status="suggested")
        assert suggested, "the rules with `suggest: true` leave suggestions to review"
        confirm = api.call(
            "preparer",
            "POST",
            f"{runs}/confirm",
            201,
            json={"group_id": suggested[0]["id"], "version": suggested[0]["version"]},
        ).json()
        decision = confirm["decisions"][0]
        api.call("preparer", "POST", f"/decisions/{decision['id']}/approve", 403, json={})  # maker-checker
        api.call("approver", "POST", f"/decisions/{decision['id']}/approve", 200, json={"comment": "ok"})
        export = api.call(
            "approver", "POST", f"{runs}/exports", 202, json={"what": "groups", "format": "csv"}
        ).json()
        export = api.wait(
            "approver", f"/exports/{export['id']}", lambda e: e["status"] in ("succeeded", "failed")
        )
        assert export["status"] == "succeeded", export
        download = api.call("approver", "GET", f"/exports/{export['id']}/download")
        assert download.content.count(b"\n") == export["rows"] + 1
        assert api.call("approver", "GET", f"/projects/{project['id']}/audit/verify").json()["ok"] is True

        # -- steady load through the frontend while the api containers restart one at a time ----------------
        stop, outcomes, samples = threading.Event(), Counter[str](), {a.name: 0 for a in apis}
        path = f"/projects/{project['id']}/datasets"

        def load() -> None:
            client = httpx.Client(
                base_url=base + "/api/v1",
                timeout=30,
                headers={"Authorization": f"Bearer {api.tokens['admin']}"},
            )
            for _ in range(LOAD_MAX_REQUESTS):
                if stop.is_set():
                    break
                try:
                    outcomes[str(client.get(path).status_code)] += 1
                except httpx.HTTPError as exc:
                    outcomes[type(exc).__name__] += 1
            client.close()

        threads = [threading.Thread(target=load) for _ in range(LOAD_THREADS)]
        load_started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(3)
        restarts = []
        for container, port in zip(apis, api_ports, strict=True):
            samples[container.name] = max(samples[container.name], container.rss_bytes())
            container.stop(timeout_s=30)  # SIGTERM, as the kubelet sends it
            assert container.inspect("{{.State.ExitCode}}") == "0", container.logs()
            container.restart()
            restarts.append(round(wait_http(f"http://127.0.0.1:{port}/ready", container), 2))
            for _ in range(6):
                time.sleep(0.5)
                samples[container.name] = max(samples[container.name], container.rss_bytes())
        time.sleep(2)
        under_load = [round(a.rss_bytes() / 2**20, 1) for a in apis]
        stop.set()
        for thread in threads:
            thread.join(60)
        total = sum(outcomes.values())
        load_s = time.monotonic() - load_started
        figures["rolling_restart"] = {
            "requests": total,
            "outcomes": dict(outcomes),
            "seconds": round(load_s, 1),
            "requests_per_s": round(total / load_s, 1),
            "restart_to_ready_s": restarts,
        }
        figures["api_rss_under_load_mb"] = under_load
        figures["api_peak_rss_mb"] = [
            round(max(s, a.peak_rss_bytes()) / 2**20, 1) for a, s in zip(apis, samples.values(), strict=True)
        ]
        record("stack", figures)
        assert outcomes["200"] == total > 100, outcomes  # zero failed requests
        assert all(peak < 350 for peak in figures["api_peak_rss_mb"])

        # -- the worker killed during a run: the run completes after it is back, with identical results ----
        second = api.call("preparer", "POST", f"/projects/{project['id']}/runs", 202, json=run_body).json()
        # killed as soon as the run is seen running: since runs load their inputs from the records' Arrow
        # files (ADR 0032), a 40k run is over about a second later
        api.wait("preparer", f"/runs/{second['id']}", lambda r: r["status"] == "running")
        worker.kill()
        killed_at = api.call("preparer", "GET", f"/runs/{second['id']}").json()
        assert killed_at["status"] == "running", "the run finished before the worker was killed"
        worker.restart()
        second = api.wait(
            "preparer", f"/runs/{second['id']}", lambda r: r["status"] in ("succeeded", "failed")
        )
        # the job's second attempt (the first died with the worker) finished the run
        assert second["status"] == "succeeded" and second["job"]["attempts"] >= 2, second
        assert second["summary"]["left"] == first["summary"]["left"]
        assert second["summary"]["right"] == first["summary"]["right"]
        assert _results(api, second["id"]) == reference

        # -- backup to S3, drop the database, restore, verify -----------------------------------------------
        backup = Container(unique("recon-backup"), BACKEND, ["backup", "create"], env).run_once()
        assert backup.returncode == 0, backup.stderr
        for container in [*apis, worker]:
            container.stop(timeout_s=30)
        before = _stats(pg_database)
        name = pg_database.rsplit("/", 1)[1]
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        restore = Container(unique("recon-restore"), BACKEND, ["backup", "restore", "latest"], env).run_once()
        assert restore.returncode == 0, restore.stdout + restore.stderr
        assert "verified" in restore.stdout
        assert _stats(pg_database) == before
        audit = Container(unique("recon-audit"), BACKEND, ["audit", "verify"], env).run_once()
        assert audit.returncode == 0 and "intact" in audit.stdout, audit.stderr
        figures["backup"] = {"tables": len(before), "rows": sum(s.rows for s in before.values())}
    record("stack", figures)
