"""Datasets: uploaded files, their canonical records and rejections.

Runs read records in bulk with `load_dataset_arrow(session, dataset) -> pa.Table`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recon.datasets.bulk import load_dataset_arrow

__all__ = ["load_dataset_arrow"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: `bulk` needs pyarrow, which the API process does not load until a job runs.
    if name == "load_dataset_arrow":
        from recon.datasets.bulk import load_dataset_arrow

        return load_dataset_arrow
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
