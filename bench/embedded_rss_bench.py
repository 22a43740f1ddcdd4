"""RSS of the serving process while its embedded worker ingests a file: thread vs process isolation.

    uv run python bench/embedded_rss_bench.py --isolation process --rows 200000
    uv run python bench/embedded_rss_bench.py --isolation thread --rows 200000

One mode per run (a fresh process each, so nothing is shared): the app with its embedded worker on SQLite
in a temporary directory, an upload of a generated CSV, then the process's RSS (children not counted) and
whether pyarrow was loaded into it. Prints the machine load.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil
from fastapi.testclient import TestClient

from recon.app import create_app
from recon.auth.security import create_access_token, hash_password
from recon.config import Settings
from recon.core.db import create_db_engine, create_session_factory, session_scope
from recon.core.migrations import upgrade_head
from recon.models import Dataset, Organization, Project, ProjectMember, Role, User


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--isolation", choices=("thread", "process"), default="process")
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"machine load (1/5/15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite:///{folder}/bench.db",
            data_dir=Path(folder),
            job_isolation=args.isolation,
            rate_limit_enabled=False,
            metrics_port=0,
            jwt_secret="bench-jwt-secret-that-is-long-enough-0123456789",
        )
        upgrade_head(settings)
        factory = create_session_factory(create_db_engine(settings))
        with session_scope(factory) as session:
            org = Organization(name="bench")
            session.add(org)
            session.flush()
            user = User(org_id=org.id, email="bench@example.com", password_hash=hash_password("x" * 16))
            session.add(user)
            session.flush()
            project = Project(org_id=org.id, name="bench", settings={}, created_by_id=user.id)
            session.add(project)
            session.flush()
            session.add(ProjectMember(project_id=project.id, user_id=user.id, role=Role.OWNER.value))
            user_id, project_id = user.id, project.id
        lines = ["id,date,amount,memo"] + [f"T{i},2024-03-01,{i}.25,payment {i}" for i in range(args.rows)]
        data = ("\n".join(lines) + "\n").encode()
        token = create_access_token(settings, user_id)
        me = psutil.Process()
        with TestClient(create_app(settings)) as client:
            idle = me.memory_info().rss
            created = client.post(
                f"/api/v1/projects/{project_id}/datasets",
                files={"file": ("bench.csv", data, "text/csv")},
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            started, peak = time.perf_counter(), idle
            while True:
                peak = max(peak, me.memory_info().rss)
                with session_scope(factory) as session:
                    dataset = session.get(Dataset, created["id"])
                    assert dataset is not None
                    if dataset.status in ("ready", "failed"):
                        break
                time.sleep(0.05)
            took = time.perf_counter() - started
        print(
            f"{args.isolation}: {args.rows:,} rows {dataset.status} in {took:.1f} s; serving process RSS "
            f"idle {idle / 2**20:.0f} MiB, peak {peak / 2**20:.0f} MiB; "
            f"pyarrow loaded: {'pyarrow' in sys.modules}"
        )


if __name__ == "__main__":
    main()
