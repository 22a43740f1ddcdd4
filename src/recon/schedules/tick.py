"""The workers' periodic tick (every SCHEDULER_TICK_S): poll the feeds, then fire due schedules. Safe to run
in every worker at once (see recon.feeds.poll and recon.schedules.fire)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from recon.config import Settings
from recon.core.db import SessionFactory
from recon.feeds.poll import poll_all
from recon.schedules.fire import fire_due


@dataclass(frozen=True)
class TickResult:
    datasets: int
    runs: list[str]


def run_tick(
    session_factory: SessionFactory, settings: Settings, now: dt.datetime | None = None
) -> TickResult:
    datasets = poll_all(session_factory, settings)
    return TickResult(datasets=datasets, runs=fire_due(session_factory, now))
