"""The manifest of a backup: what was dumped, its checksum, and what a restore must reproduce."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class TableStats:
    rows: int
    checksum: str


@dataclass
class Manifest:
    backup_id: str
    created_at: dt.datetime
    backend: str  # "postgresql" | "sqlite"
    dump_file: str  # object name inside the backup's folder
    dump_format: str  # "pg_dump-custom" | "sqlite-gzip"
    size: int
    sha256: str
    alembic_revisions: list[str]
    tables: dict[str, TableStats]
    # chain -> [last seq, last hash] at backup time (a restore must end on the same heads).
    audit_heads: dict[str, list[Any]] = field(default_factory=dict)
    audit_events: int = 0
    recon_version: str = ""
    format_version: int = FORMAT_VERSION

    @property
    def total_rows(self) -> int:
        return sum(stats.rows for stats in self.tables.values())

    def to_json(self) -> bytes:
        doc = asdict(self)
        doc["created_at"] = self.created_at.isoformat()
        return json.dumps(doc, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        doc = json.loads(raw)
        if doc.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unsupported backup manifest format {doc.get('format_version')!r}")
        doc["created_at"] = dt.datetime.fromisoformat(doc["created_at"])
        doc["tables"] = {name: TableStats(**stats) for name, stats in doc["tables"].items()}
        return cls(**doc)
