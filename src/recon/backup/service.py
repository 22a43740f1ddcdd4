"""Create, list, restore and prune backups (the `recon backup` commands call these)."""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from recon import __version__
from recon.audit.service import verify_report
from recon.backup import database as db
from recon.backup.manifest import MANIFEST_NAME, Manifest
from recon.backup.targets import BackupNotFound, BackupTarget
from recon.config import Settings
from recon.core.db import create_db_engine, create_session_factory
from recon.core.time import utcnow
from recon.storage.base import sha256_file

log = structlog.get_logger("recon.backup")
Echo = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def new_backup_id(now: dt.datetime) -> str:
    # Sortable by time; the suffix keeps two backups in the same second apart.
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def _audit(engine: Engine) -> tuple[dict[str, list[object]], int, list[str]]:
    """Heads, event count and breaks of every audit chain."""
    with create_session_factory(engine)() as session:
        report = verify_report(session)
    heads = {chain: [seq, hash_] for chain, (seq, hash_) in report.heads.items()}
    breaks = [f"{b.chain}: event {b.event_id}: {b.reason}" for b in report.breaks]
    return heads, report.events_checked, breaks


def create_backup(settings: Settings, target: BackupTarget, echo: Echo = _quiet) -> Manifest:
    """Dump the database to `target` with its manifest (written last). The audit trail must be intact:
    a backup of a broken chain would hide the break."""
    now = utcnow()
    backup_id = new_backup_id(now)
    engine = create_db_engine(settings)
    try:
        heads, events, breaks = _audit(engine)
        if breaks:
            raise db.BackupError("the audit trail is broken, not backing it up: " + "; ".join(breaks[:3]))
        with tempfile.TemporaryDirectory(prefix="recon-backup-") as tmp:
            work = Path(tmp)
            if settings.is_sqlite:
                copy = work / "recon.db"
                db.sqlite_backup(settings.database_url, copy)
                copy_engine = create_engine(f"sqlite:///{copy}", poolclass=NullPool)
                try:
                    with copy_engine.connect() as connection:
                        tables = db.table_stats(connection)
                        revisions = db.alembic_revisions(connection)
                finally:
                    copy_engine.dispose()
                dump, backend, fmt = work / "database.sqlite.gz", "sqlite", "sqlite-gzip"
                db.gzip_file(copy, dump)
            else:
                dump, backend, fmt = work / "database.dump", "postgresql", "pg_dump-custom"
                with db.pg_snapshot(engine) as (connection, snapshot):
                    tables = db.table_stats(connection)
                    revisions = db.alembic_revisions(connection)
                    db.pg_dump(settings.database_url, snapshot, dump)
            manifest = Manifest(
                backup_id=backup_id,
                created_at=now,
                backend=backend,
                dump_file=dump.name,
                dump_format=fmt,
                size=dump.stat().st_size,
                sha256=sha256_file(dump),
                alembic_revisions=revisions,
                tables=tables,
                audit_heads=heads,
                audit_events=events,
                recon_version=__version__,
            )
            echo(f"dumped {len(tables)} tables, {manifest.total_rows} rows, {manifest.size} bytes")
            target.put_file(backup_id, dump.name, dump)
            target.put_bytes(backup_id, MANIFEST_NAME, manifest.to_json())
    finally:
        engine.dispose()
    log.info(
        "backup_created",
        backup_id=backup_id,
        size=manifest.size,
        rows=manifest.total_rows,
        target=target.description,
    )
    return manifest


def list_backups(target: BackupTarget) -> list[Manifest]:
    """Complete backups (those with a manifest), newest first."""
    manifests = []
    for backup_id in target.backup_ids():
        try:
            manifests.append(Manifest.from_json(target.get_bytes(backup_id, MANIFEST_NAME)))
        except BackupNotFound:
            continue  # incomplete: the dump was being written or failed
    return sorted(manifests, key=lambda m: (m.created_at, m.backup_id), reverse=True)


def resolve(target: BackupTarget, backup_id: str) -> Manifest:
    if backup_id == "latest":
        found = list_backups(target)
        if not found:
            raise BackupNotFound(f"no backup in {target.description}")
        return found[0]
    return Manifest.from_json(target.get_bytes(backup_id, MANIFEST_NAME))


@dataclass
class RestoreReport:
    manifest: Manifest
    problems: list[str] = field(default_factory=list)
    tables_checked: int = 0
    rows_checked: int = 0
    audit_events: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def restore_backup(
    settings: Settings, target: BackupTarget, backup_id: str, echo: Echo = _quiet
) -> RestoreReport:
    """Restore into the (empty) database of `settings`, then verify it against the manifest."""
    manifest = resolve(target, backup_id)
    sqlite = manifest.backend == "sqlite"
    if sqlite != settings.is_sqlite:
        raise db.BackupError(
            f"backup {manifest.backup_id} is a {manifest.backend} backup; DATABASE_URL is "
            f"{'SQLite' if settings.is_sqlite else 'PostgreSQL'}"
        )
    with tempfile.TemporaryDirectory(prefix="recon-restore-") as tmp:
        dump = Path(tmp) / manifest.dump_file
        target.get_file(manifest.backup_id, manifest.dump_file, dump)
        actual = sha256_file(dump)
        if actual != manifest.sha256:
            raise db.BackupError(
                f"backup {manifest.backup_id}: {manifest.dump_file} has sha256 {actual}, the manifest says "
                f"{manifest.sha256}; nothing restored"
            )
        echo(f"checksum ok: {manifest.dump_file} sha256 {actual}")
        if sqlite:
            path = db.sqlite_path(settings.database_url)
            if path.exists() and path.stat().st_size > 0:
                raise db.BackupError(f"{path} exists; restore needs an empty database (move it away first)")
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".restoring")
            db.gunzip_file(dump, partial)
            partial.replace(path)
        else:
            engine = create_db_engine(settings)
            try:
                if not db.is_empty(engine):
                    raise db.BackupError(
                        "the database is not empty; restore needs an empty database (create a new one)"
                    )
            finally:
                engine.dispose()
            db.pg_restore(settings.database_url, dump)
    echo("restored; verifying row counts, table checksums and audit chains")
    return verify_restore(settings, manifest)


def verify_restore(settings: Settings, manifest: Manifest) -> RestoreReport:
    report = RestoreReport(manifest)
    engine = create_db_engine(settings)
    try:
        with engine.connect() as connection, connection.begin():
            tables = db.table_stats(connection)
        for name, expected in sorted(manifest.tables.items()):
            found = tables.get(name)
            if found is None:
                report.problems.append(f"table {name} is missing")
            elif found.rows != expected.rows:
                report.problems.append(f"table {name}: {found.rows} rows, the backup had {expected.rows}")
            elif found.checksum != expected.checksum:
                report.problems.append(f"table {name}: checksum differs from the backup's")
            report.tables_checked += 1
            report.rows_checked += found.rows if found else 0
        for name in sorted(set(tables) - set(manifest.tables)):
            report.problems.append(f"table {name} is not in the backup")
        heads, events, breaks = _audit(engine)
        report.audit_events = events
        report.problems.extend(f"audit chain broken: {b}" for b in breaks)
        if heads != manifest.audit_heads:
            report.problems.append("audit chain heads differ from those recorded at backup time")
    finally:
        engine.dispose()
    log.info("backup_restored", backup_id=manifest.backup_id, ok=report.ok, problems=report.problems[:5])
    return report


def prune(settings: Settings, target: BackupTarget, now: dt.datetime | None = None) -> list[str]:
    """Delete complete backups older than BACKUP_RETENTION_DAYS, always keeping the newest
    BACKUP_KEEP_MIN. Returns the deleted ids."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=settings.backup_retention_days)
    manifests = list_backups(target)
    deleted = []
    for manifest in manifests[settings.backup_keep_min :]:
        if manifest.created_at < cutoff:
            target.delete(manifest.backup_id)
            deleted.append(manifest.backup_id)
    if deleted:
        log.info("backups_pruned", deleted=deleted)
    return deleted
