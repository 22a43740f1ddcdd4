"""Datasets: uploaded files, their canonical records and rejections.

Runs read records in bulk with `load_dataset_arrow(session, dataset) -> pa.Table`.
"""

from recon.datasets.bulk import load_dataset_arrow

__all__ = ["load_dataset_arrow"]
