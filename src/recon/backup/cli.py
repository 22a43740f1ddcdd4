"""`recon backup create | list | restore | prune` (settings from the environment: DATABASE_URL,
BACKUP_S3_BUCKET or BACKUP_DIR, BACKUP_RETENTION_DAYS, BACKUP_KEEP_MIN)."""

from __future__ import annotations

from typing import Annotated

import typer

backup_app = typer.Typer(
    help="Database backups (to S3 or a directory) and verified restores.", no_args_is_help=True
)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@backup_app.command("create")
def create(
    keep: Annotated[bool, typer.Option("--no-prune", help="Do not apply the retention policy.")] = False,
) -> None:
    """Dump the database with a manifest (checksum, row counts, table checksums, audit heads), then apply
    the retention policy. Exit 0 on success, 1 when the backup failed."""
    from recon.backup.database import BackupError
    from recon.backup.service import create_backup, prune
    from recon.backup.targets import target_from_settings
    from recon.cli.platform_cmds import load_settings
    from recon.observability.logging import configure_logging_from

    settings = load_settings()
    configure_logging_from(settings)
    target = target_from_settings(settings)
    try:
        manifest = create_backup(settings, target, echo=typer.echo)
    except BackupError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"backup {manifest.backup_id} -> {target.description} (sha256 {manifest.sha256})")
    if not keep:
        for backup_id in prune(settings, target):
            typer.echo(f"deleted {backup_id} (older than {settings.backup_retention_days} days)")


@backup_app.command("list")
def list_cmd() -> None:
    """Complete backups, newest first: id, time, backend, size, rows."""
    from recon.backup.service import list_backups
    from recon.backup.targets import target_from_settings
    from recon.cli.platform_cmds import load_settings

    settings = load_settings()
    target = target_from_settings(settings)
    manifests = list_backups(target)
    if not manifests:
        typer.echo(f"no backups in {target.description}")
        return
    for m in manifests:
        typer.echo(
            f"{m.backup_id}  {m.created_at.isoformat()}  {m.backend:<10}  {m.size:>12} bytes  "
            f"{m.total_rows:>10} rows  {len(m.tables)} tables"
        )


@backup_app.command("restore")
def restore(
    backup_id: Annotated[str, typer.Argument(help="A backup id from `recon backup list`, or 'latest'.")],
) -> None:
    """Restore a backup into the empty database of DATABASE_URL and verify it: the dump's sha256, every
    table's row count and checksum, the audit chains and their heads. Exit 0 when all match, 1 otherwise."""
    from recon.backup.database import BackupError
    from recon.backup.service import restore_backup
    from recon.backup.targets import BackupNotFound, target_from_settings
    from recon.cli.platform_cmds import load_settings
    from recon.observability.logging import configure_logging_from

    settings = load_settings()
    configure_logging_from(settings)
    try:
        report = restore_backup(settings, target_from_settings(settings), backup_id, echo=typer.echo)
    except (BackupError, BackupNotFound, ValueError) as exc:
        raise _fail(str(exc)) from None
    if not report.ok:
        for problem in report.problems:
            typer.echo(f"MISMATCH {problem}", err=True)
        raise _fail(f"restore of {report.manifest.backup_id} does not match its backup")
    typer.echo(
        f"restored {report.manifest.backup_id}: {report.tables_checked} tables, {report.rows_checked} rows "
        f"and {report.audit_events} audit events verified"
    )


@backup_app.command("prune")
def prune_cmd() -> None:
    """Apply the retention policy (BACKUP_RETENTION_DAYS, keeping at least BACKUP_KEEP_MIN)."""
    from recon.backup.service import prune
    from recon.backup.targets import target_from_settings
    from recon.cli.platform_cmds import load_settings

    settings = load_settings()
    deleted = prune(settings, target_from_settings(settings))
    typer.echo(f"deleted {len(deleted)} backup(s)" + (": " + ", ".join(deleted) if deleted else ""))
