"""Job workers: `WorkerRunner` (threads leasing from the jobs table), the embedded runner of the API process
and the `recon worker` process."""

from __future__ import annotations

from recon.worker.runner import WorkerRunner

__all__ = ["WorkerRunner"]
