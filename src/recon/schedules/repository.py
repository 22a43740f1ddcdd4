"""Schedules: the rows of the `schedules` table."""

from __future__ import annotations

from recon.core.repository import Repository
from recon.models import Schedule


class ScheduleRepository(Repository[Schedule]):
    model = Schedule
    noun = "schedule"
