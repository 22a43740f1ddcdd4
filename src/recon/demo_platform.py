"""The demo platform that `make run` starts: an administrator, a demo project, two demo datasets and the demo
rule set, created through the domain services (so they are audited and the datasets are ingested by the
job queue like any upload). Idempotent: a second start finds everything and creates nothing.

    python -m recon.demo_platform [--rows 10000]    # then: recon serve (its embedded worker ingests)

The administrator comes from RECON_ADMIN_EMAIL / RECON_ADMIN_PASSWORD; without them, on a database without
users, one is created with a generated password that is printed once (it is stored only as a hash).
"""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from recon.auth.access import ProjectAccess
from recon.auth.bootstrap import create_admin
from recon.auth.security import normalize_email
from recon.config import Settings
from recon.core.db import SessionFactory, create_db_engine, create_session_factory, session_scope
from recon.models import Dataset, Project, ProjectMember, Role, User

log = structlog.get_logger("recon.demo_platform")

DEFAULT_ADMIN_EMAIL = "admin@example.com"
DEMO_PROJECT = "Demo: ledger vs bank"
DEMO_RULESET = "Demo rules"
DEMO_ROWS = 10_000


@dataclass
class DemoReport:
    admin_email: str
    generated_password: str | None  # set only on the start that created the administrator
    project_id: str
    created: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)


def _admin(session: Session, settings: Settings) -> tuple[User, str | None]:
    """The demo's owner: the configured administrator, created if missing; else, on an empty database, a
    new one with a generated password; else the oldest active superuser."""
    configured = normalize_email(settings.recon_admin_email) if settings.recon_admin_email else None
    if configured:
        user = session.scalar(select(User).where(User.email == configured))
        if user is not None:
            return user, None
    anyone = session.scalar(select(User.id).limit(1))
    if configured and settings.recon_admin_password is not None:
        password = settings.recon_admin_password.get_secret_value()
        return create_admin(
            session, email=configured, password=password, org_name=settings.recon_admin_org
        ), None
    if anyone is None:
        password = secrets.token_urlsafe(18)
        email = configured or DEFAULT_ADMIN_EMAIL
        return create_admin(
            session, email=email, password=password, org_name=settings.recon_admin_org
        ), password
    superuser = session.scalar(
        select(User).where(User.is_superuser, User.is_active).order_by(User.created_at, User.id).limit(1)
    )
    if superuser is None:
        raise RuntimeError(
            "users exist but none is an active administrator: create one with "
            "`recon users create-admin --email ...` or set RECON_ADMIN_EMAIL/RECON_ADMIN_PASSWORD"
        )
    return superuser, None


def _project(session: Session, admin: User, report: DemoReport) -> ProjectAccess:
    from recon.projects.schemas import ProjectCreate
    from recon.projects.service import ProjectService

    project = session.scalar(
        select(Project).where(
            Project.org_id == admin.org_id, Project.name == DEMO_PROJECT, Project.deleted_at.is_(None)
        )
    )
    if project is None:
        description = "Generated company ledger against its bank statement (recon.demo), with the demo rules."
        project, member = ProjectService(session).create(
            admin, ProjectCreate(name=DEMO_PROJECT, description=description)
        )
        report.created.append(f"project {DEMO_PROJECT!r}")
    else:
        existing = session.scalar(
            select(ProjectMember).where(
                ProjectMember.project_id == project.id, ProjectMember.user_id == admin.id
            )
        )
        if existing is None:  # the administrator changed since the demo was made: make them its owner too
            existing = ProjectMember(project_id=project.id, user_id=admin.id, role=Role.OWNER)
            session.add(existing)
            session.flush()
        member = existing
        report.found.append(f"project {DEMO_PROJECT!r}")
    report.project_id = project.id
    return ProjectAccess(project=project, member=member, user=admin)


def _datasets(
    session: Session, settings: Settings, access: ProjectAccess, files: dict[str, Path], report: DemoReport
) -> None:
    from recon.datasets.service import DatasetService, Upload
    from recon.storage import get_store

    service = DatasetService(session, get_store(settings))
    for name, path in files.items():
        exists = session.scalar(
            select(Dataset.id).where(Dataset.project_id == access.project.id, Dataset.name == name)
        )
        if exists is not None:
            report.found.append(f"dataset {name!r}")
            continue
        with path.open("rb") as stream:
            upload = Upload(stream=stream, filename=path.name, name=name)
            service.upload(access, upload, max_bytes=settings.upload_max_bytes)
        report.created.append(f"dataset {name!r} ({path.name}, ingestion queued)")


def _ruleset(session: Session, access: ProjectAccess, rules_text: str, report: DemoReport) -> None:
    try:
        from recon.rulesets.repository import RuleSetRepository
        from recon.rulesets.schemas import RuleSetCreate
        from recon.rulesets.service import RuleSetService
    except ImportError:  # the rule-set domain is not part of this build
        return
    if RuleSetRepository(session).by_name(access.project.id, DEMO_RULESET) is not None:
        report.found.append(f"rule set {DEMO_RULESET!r}")
        return
    RuleSetService(session).create(access, RuleSetCreate(name=DEMO_RULESET, text=rules_text), None)
    report.created.append(f"rule set {DEMO_RULESET!r}")


def demo_files(settings: Settings, rows: int) -> tuple[dict[str, Path], str]:
    """The demo ledger and bank CSVs under DATA_DIR/demo (generated once; the generator is seeded)."""
    from recon.demo import generate
    from recon.demo.rules import demo_rules_text

    folder = settings.data_dir / "demo"
    ledger, bank = folder / "ledger.csv", folder / "bank.csv"
    if not (ledger.exists() and bank.exists()):
        generate(rows, folder)
    return {"Ledger (demo)": ledger, "Bank statement (demo)": bank}, demo_rules_text()


def bootstrap_demo(settings: Settings, factory: SessionFactory, rows: int = DEMO_ROWS) -> DemoReport:
    """Create what is missing of the demo, in one transaction."""
    files, rules_text = demo_files(settings, rows)
    with session_scope(factory) as session:
        admin, password = _admin(session, settings)
        report = DemoReport(admin_email=admin.email, generated_password=password, project_id="")
        if password is not None:
            report.created.append(f"administrator {admin.email}")
        access = _project(session, admin, report)
        _datasets(session, settings, access, files, report)
        _ruleset(session, access, rules_text, report)
    log.info("demo_bootstrapped", project_id=report.project_id, created=report.created, found=report.found)
    return report


def render(report: DemoReport, settings: Settings) -> str:
    base = f"http://localhost:{settings.port}"
    lines = ["", "Reconciliation Platform demo", f"  API docs     {base}/api/docs"]
    lines.append(f"  project      {DEMO_PROJECT} ({report.project_id})")
    if report.created:
        lines.append(f"  created      {'; '.join(report.created)}")
    if report.found:
        lines.append(f"  already here {'; '.join(report.found)}")
    lines.append(f"  administrator {report.admin_email}")
    if report.generated_password is not None:
        lines.append(f"  password     {report.generated_password}")
        lines.append("               (shown this once; only its hash is stored. Set RECON_ADMIN_EMAIL and")
        lines.append("               RECON_ADMIN_PASSWORD to choose your own on a fresh DATA_DIR)")
        password = report.generated_password
    else:
        password = "<your password>"  # noqa: S105 - a placeholder in the printed curl line
    login = f'{{"email": "{report.admin_email}", "password": "{password}"}}'
    lines += [
        "  log in       curl -s -X POST "
        f"{base}/api/v1/auth/login -H 'Content-Type: application/json' -d '{login}'",
        f"  then         curl -s {base}/api/v1/projects/{report.project_id}/datasets "
        "-H 'Authorization: Bearer <access_token>'",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None, echo: Callable[[str], None] = print) -> int:
    from recon.cli.platform_cmds import load_settings
    from recon.core.migrations import upgrade_head
    from recon.observability.logging import configure_logging_from

    parser = argparse.ArgumentParser(description="Create the demo administrator, project, datasets, rules.")
    parser.add_argument("--rows", type=int, default=DEMO_ROWS, help=f"demo ledger rows (default {DEMO_ROWS})")
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging_from(settings)
    if settings.should_auto_migrate:
        upgrade_head(settings)
    engine = create_db_engine(settings)
    try:
        report = bootstrap_demo(settings, create_session_factory(engine), rows=args.rows)
    finally:
        engine.dispose()
    echo(render(report, settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
