"""`recon audit verify`: recompute every hash chain; exit 0 when intact, 1 naming the first broken event."""

from __future__ import annotations

from typing import Annotated

import typer

audit_app = typer.Typer(help="Audit trail.", no_args_is_help=True)


@audit_app.command("verify")
def verify(
    chain: Annotated[
        str | None, typer.Option(help="Only this chain: a project id, 'org:<org id>' or 'system'.")
    ] = None,
    heads: Annotated[
        bool,
        typer.Option(
            "--heads", help="Print each chain's last seq and hash (keep them to detect truncation)."
        ),
    ] = False,
) -> None:
    """Prove the audit trail is intact, or name the first broken event (exit 1)."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from recon.audit.service import verify_report
    from recon.cli.platform_cmds import load_settings
    from recon.core.db import create_db_engine, create_session_factory

    settings = load_settings()
    engine = create_db_engine(settings)
    try:
        with create_session_factory(engine)() as session:
            report = verify_report(session, chain=chain)
    except (OperationalError, ProgrammingError) as exc:
        typer.echo(
            f"error: cannot read the audit trail ({type(exc.orig).__name__}); is the database "
            "reachable and migrated (`recon db upgrade`)?",
            err=True,
        )
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    if heads:
        for name, (seq, hash_) in sorted(report.heads.items()):
            typer.echo(f"head {name} seq={seq} hash={hash_}")
    first = report.first_break
    if first is None:
        typer.echo(f"audit chain intact: {report.events_checked} events in {len(report.heads)} chain(s)")
        return
    typer.echo(f"audit chain BROKEN: first broken event {first.event_id}: {first.reason}", err=True)
    for other in report.breaks:
        if other is not first:
            typer.echo(f"  also broken: event {other.event_id}: {other.reason}", err=True)
    raise typer.Exit(1)
