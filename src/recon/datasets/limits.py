"""The ingest limits of this process, from its settings (INGEST_MAX_*)."""

from __future__ import annotations

from dataclasses import replace

from recon.config import Settings
from recon.ingest import ReadOptions
from recon.ingest.limits import IngestLimits


def ingest_limits(settings: Settings) -> IngestLimits:
    return IngestLimits(
        max_columns=settings.ingest_max_columns,
        max_cell_bytes=settings.ingest_max_cell_bytes,
        max_row_bytes=settings.ingest_max_row_bytes,
        max_rows=settings.ingest_max_rows,
        max_unzipped_bytes=settings.ingest_max_unzipped_bytes,
        max_zip_ratio=settings.ingest_max_zip_ratio,
        max_depth=settings.ingest_max_depth,
    )


def bounded(options: ReadOptions, settings: Settings) -> ReadOptions:
    """A user's read options with the process's limits."""
    return replace(options, limits=ingest_limits(settings))
