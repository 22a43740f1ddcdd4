"""A dataset that is an input of a run is neither deleted nor re-mapped, in every process.

The check is an explicit query of the datasets service (no hook registered by importing recon.runs.service):
a process that never imports the runs service refuses too.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable
from typing import Any

from dataset_helpers import LEDGER_CSV, datasets_url
from fastapi.testclient import TestClient
from httpx import Response

from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.models import Dataset, Project, RuleSet, RuleSetVersion, Run, User

Headers = Callable[[User | str], dict[str, str]]


def _pin_in_run(session_factory: SessionFactory, project: Project, dataset_id: str) -> str:
    """A queued run with the dataset as both inputs (rows written directly: no engine, no job)."""
    with session_scope(session_factory) as session:
        ruleset = RuleSet(project_id=project.id, name=f"rules-{uuid.uuid4().hex[:8]}", latest_version=1)
        session.add(ruleset)
        session.flush()
        version = RuleSetVersion(
            ruleset_id=ruleset.id, version=1, text="{}", format="json", sha256="0" * 64, rules_name="t"
        )
        session.add(version)
        session.flush()
        run = Run(
            project_id=project.id,
            ruleset_id=ruleset.id,
            ruleset_version=1,
            ruleset_version_id=version.id,
            left_dataset_id=dataset_id,
            right_dataset_id=dataset_id,
            left_sha256="1" * 64,
            right_sha256="1" * 64,
            rules_sha256="0" * 64,
            created_by_id=project.created_by_id,
        )
        session.add(run)
        session.flush()
        return run.id


def test_a_dataset_a_run_uses_is_neither_deleted_nor_remapped(
    client: TestClient,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
    upload: Callable[..., Response],
    wait_dataset: Callable[..., dict[str, Any]],
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    used = upload(preparer, project, LEDGER_CSV, name="in use").json()
    free = upload(preparer, project, LEDGER_CSV + b"x,y\n", name="free").json()
    for dataset in (used, free):  # a delete racing its own ingestion job is a 409 version conflict
        wait_dataset(preparer, project.id, dataset["id"])
    run_id = _pin_in_run(session_factory, project, used["id"])
    url = f"{datasets_url(project)}/{used['id']}"

    deleted = client.delete(url, headers=auth_headers(preparer))
    remapped = client.put(f"{url}/mapping", json={"mapping": {}}, headers=auth_headers(preparer))
    other = client.delete(f"{datasets_url(project)}/{free['id']}", headers=auth_headers(preparer))

    assert deleted.status_code == 409
    assert f"cannot be deleted: it is an input of run {run_id}" in deleted.json()["detail"]
    assert remapped.status_code == 409
    assert "cannot be re-mapped" in remapped.json()["detail"]
    assert other.status_code == 204
    with session_scope(session_factory) as session:
        assert session.get(Dataset, used["id"]) is not None


# Runs in a fresh interpreter: imports the datasets service only, deletes through it, reports what it saw.
_DELETE_IN_ANOTHER_PROCESS = textwrap.dedent(
    """
    import sys
    from types import SimpleNamespace

    from recon.config import Settings
    from recon.core.db import create_db_engine, create_session_factory, session_scope
    from recon.core.errors import Conflict
    from recon.datasets.service import DatasetService
    from recon.models import Project, User

    url, project_id, user_id, dataset_id = sys.argv[1:5]
    engine = create_db_engine(Settings(_env_file=None, environment="test", database_url=url))
    outcome = "deleted"
    with session_scope(create_session_factory(engine)) as session:
        access = SimpleNamespace(project=session.get(Project, project_id), user=session.get(User, user_id))
        try:
            DatasetService(session).delete(access, dataset_id)
        except Conflict as exc:
            outcome = exc.detail
    engine.dispose()
    print("runs.service imported" if "recon.runs.service" in sys.modules else "runs.service not imported")
    print(outcome)
    """
)


def test_a_process_that_never_imports_the_runs_service_refuses_too(
    client: TestClient,
    settings: Settings,
    session_factory: SessionFactory,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    upload: Callable[..., Response],
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    used = upload(preparer, project, LEDGER_CSV, name="in use").json()
    run_id = _pin_in_run(session_factory, project, used["id"])

    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _DELETE_IN_ANOTHER_PROCESS,
            settings.database_url,
            project.id,
            preparer.id,
            used["id"],
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    imported, outcome = done.stdout.strip().splitlines()[-2:]
    assert imported == "runs.service not imported"
    assert outcome == f"dataset cannot be deleted: it is an input of run {run_id}"
    with session_scope(session_factory) as session:
        assert session.get(Dataset, used["id"]) is not None
