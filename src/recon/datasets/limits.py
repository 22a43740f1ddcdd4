"""The ingest limits of this process, from its settings (INGEST_MAX_*)."""

from __future__ import annotations

from dataclasses import fields, replace

from recon.config import Settings
from recon.ingest import ReadOptions
from recon.ingest.limits import IngestLimits


def ingest_limits(settings: Settings) -> IngestLimits:
    """Each limit from its setting: `max_rows` from `ingest_max_rows` (INGEST_MAX_ROWS), and so on."""
    return IngestLimits(**{f.name: getattr(settings, f"ingest_{f.name}") for f in fields(IngestLimits)})


def bounded(options: ReadOptions, settings: Settings) -> ReadOptions:
    """A user's read options with the process's limits."""
    return replace(options, limits=ingest_limits(settings))
