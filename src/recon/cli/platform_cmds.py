"""Platform commands of the `recon` CLI: serve, db upgrade, users create-admin.

`recon.cli.main` calls `register(app)`. Other helpers add their commands here (worker, audit verify).
"""

from __future__ import annotations

from typing import Annotated, NoReturn

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


def register(app: typer.Typer) -> None:
    from recon.audit.cli import audit_app
    from recon.worker.cli import worker

    app.command("serve")(serve)
    app.command("worker")(worker)
    app.add_typer(db_app, name="db")
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
