"""Platform commands of the `recon` CLI: serve, db upgrade, users create-admin.

`recon.cli.main` calls `register(app)`. Other helpers add their commands here (worker, audit verify).
"""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError

from recon.config import InsecureSettingsError, Settings, get_settings

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
users_app = typer.Typer(help="User administration.", no_args_is_help=True)


def _exit(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def load_settings() -> Settings:
    """Settings from the environment; unsafe or invalid ones stop the command with a clear message."""
    try:
        return get_settings()
    except InsecureSettingsError as exc:
        _exit(str(exc))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper() or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        _exit(f"invalid settings: {problems}")


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default HOST, 0.0.0.0).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PORT, 2000).")] = None,
) -> None:
    """Run the API (uvicorn; metrics on METRICS_PORT). Outside production the database is migrated first.
    SIGTERM drains in-flight requests, stops the embedded worker and exits 0."""
    import gc

    # Startup builds ~270k long-lived objects (models, routes): collecting while importing them is wasted
    # work (~10 % of the start's CPU, which counts under a 350m CPU limit). The app re-enables the collector
    # once started (recon.app.lifespan).
    gc.disable()
    from recon.core.migrations import upgrade_head
    from recon.observability.logging import configure_logging_from
    from recon.observability.serving import serve_api

    settings = load_settings()
    configure_logging_from(settings)
    if settings.should_auto_migrate:
        upgrade_head(settings)
    serve_api(settings, host or settings.host, settings.port if port is None else port)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (alembic upgrade head)."""
    from recon.core.migrations import head_revisions, upgrade_head

    settings = load_settings()
    upgrade_head(settings)
    typer.echo(f"database at {', '.join(sorted(head_revisions(settings)))} (head)")


@users_app.command("create-admin")
def create_admin_cmd(
    email: Annotated[str, typer.Option(help="Login email of the administrator.")],
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="At least 12 characters."),
    ],
    org: Annotated[str, typer.Option(help="Organisation (created if missing).")] = "Default",
) -> None:
    """Create an organisation administrator (superuser)."""
    from recon.auth.bootstrap import UserExistsError, create_admin
    from recon.core.db import create_db_engine, create_session_factory, session_scope

    settings = load_settings()
    engine = create_db_engine(settings)
    try:
        with session_scope(create_session_factory(engine)) as session:
            user = create_admin(session, email=email, password=password, org_name=org)
            user_id, user_email = user.id, user.email
    except UserExistsError as exc:
        _exit(f"{exc}; nothing changed", code=1)
    except ValueError as exc:
        _exit(str(exc))
    finally:
        engine.dispose()
    typer.echo(f"created administrator {user_email} (id {user_id}) in organisation {org!r}")


def _user_service(session: Any, admin_email: str) -> Any:
    """The users service acting as `admin_email`, an active administrator (superuser) of an organisation."""
    from sqlalchemy import select

    from recon.auth.security import normalize_email
    from recon.models import User
    from recon.users.service import UserService

    admin = session.scalar(select(User).where(User.email == normalize_email(admin_email)))
    if admin is None or not admin.is_active or not admin.is_superuser:
        _exit(f"{admin_email} is not an active organisation administrator (--admin)")
    return UserService(session, admin, admin.org_id)


def _with_session(work: Any) -> Any:
    from recon.core.db import create_db_engine, create_session_factory, session_scope
    from recon.core.errors import ProblemError

    engine = create_db_engine(load_settings())
    try:
        with session_scope(create_session_factory(engine)) as session:
            return work(session)
    except ProblemError as exc:
        details = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
        _exit(f"{exc.detail}" + (f" ({details})" if details else ""), code=1)
    finally:
        engine.dispose()


AdminOption = Annotated[
    str,
    typer.Option("--admin", help="Email of the organisation administrator acting (audited as the actor)."),
]


@users_app.command("create")
def create_user_cmd(  # noqa: PLR0917 - Typer options are parameters
    email: Annotated[str, typer.Option(help="Login email of the new user.")],
    admin: AdminOption,
    full_name: Annotated[str, typer.Option("--name", help="Full name.")] = "",
    project: Annotated[
        list[str] | None, typer.Option(help="Project id to grant --role in (repeatable).")
    ] = None,
    role: Annotated[str, typer.Option(help="viewer, preparer, approver, admin or owner.")] = "viewer",
    invite: Annotated[
        bool, typer.Option("--invite", help="No password: print a one-time invitation token instead.")
    ] = False,
    password: Annotated[
        str | None, typer.Option(help="At least 12 characters (prompted when neither --invite nor given).")
    ] = None,
) -> None:
    """Create (or --invite) a user of the admin's organisation, with a project role. Audited."""
    from pydantic import ValidationError

    from recon.users.schemas import UserCreate

    if not invite and password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        body = UserCreate(
            email=email,
            full_name=full_name,
            password=None if invite else password,
            memberships=[{"project_id": p, "role": role} for p in project or []],
        )
    except ValidationError as exc:
        _exit("; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()))

    def work(session: Any) -> tuple[str, str, str | None]:
        created = _user_service(session, admin).create(body)
        token = created.invitation.token if created.invitation else None
        return created.user.id, created.user.email, token

    user_id, user_email, token = _with_session(work)
    if token:
        typer.echo(f"invited {user_email} (id {user_id}); invitation token (shown once, valid 7 days):")
        typer.echo(token)
        typer.echo('redeem: POST /api/v1/users/invitations/accept {"token": "...", "password": "..."}')
    else:
        typer.echo(f"created {user_email} (id {user_id})")


def _set_active(email: str, admin: str, active: bool) -> None:
    from recon.auth.security import normalize_email
    from recon.users.schemas import UserUpdate

    def work(session: Any) -> str:
        service = _user_service(session, admin)
        user = service.users.by_email(normalize_email(email))
        if user is None or user.org_id != service.org_id:
            _exit(f"no user {email} in the admin's organisation", code=1)
        return str(service.update(user.id, UserUpdate(is_active=active)).email)

    done = _with_session(work)
    typer.echo(f"{'reactivated' if active else 'deactivated'} {done}")


@users_app.command("deactivate")
def deactivate_user_cmd(
    email: Annotated[str, typer.Option(help="The user to deactivate.")], admin: AdminOption
) -> None:
    """Deactivate a user: logins, tokens and API keys stop at once. Audited."""
    _set_active(email, admin, False)


@users_app.command("activate")
def activate_user_cmd(
    email: Annotated[str, typer.Option(help="The user to reactivate.")], admin: AdminOption
) -> None:
    """Reactivate a deactivated user. Audited."""
    _set_active(email, admin, True)


def register(app: typer.Typer) -> None:
    from recon.audit.cli import audit_app
    from recon.backup.cli import backup_app
    from recon.worker.cli import worker

    app.command("serve")(serve)
    app.command("worker")(worker)
    app.add_typer(db_app, name="db")
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
    app.add_typer(backup_app, name="backup")
