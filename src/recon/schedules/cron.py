"""Cron expressions in a time zone: validation, the next slots, and the latest due slot.

croniter iterates on aware datetimes (zoneinfo), so slots follow the zone's DST rules. Two corrections to
what users of cron expect: a wall-clock time that does not exist (spring forward) runs at the first valid
time after it (croniter does this), and a time that occurs twice (fall back) runs once, at its first
occurrence (croniter would answer both).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

FIELDS = 5  # minute hour day-of-month month day-of-week (no seconds, no years)


class CronError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Cron:
    expression: str
    zone: ZoneInfo

    def next_slots(self, after: dt.datetime, count: int) -> list[dt.datetime]:
        """The next `count` slots strictly after `after`, in the schedule's zone."""
        iterator = croniter(self.expression, after.astimezone(self.zone))
        slots: list[dt.datetime] = []
        while len(slots) < count:
            slot = iterator.get_next(dt.datetime)
            if not self._repeated(slot):
                slots.append(slot)
        return slots

    def latest_due(self, now: dt.datetime) -> dt.datetime:
        """The latest slot at or before `now` (UTC), skipping the repeat of a fall-back hour."""
        iterator = croniter(self.expression, now.astimezone(self.zone) + dt.timedelta(microseconds=1))
        slot = iterator.get_prev(dt.datetime)
        while self._repeated(slot):
            slot = iterator.get_prev(dt.datetime)
        return slot.astimezone(dt.UTC)

    def _repeated(self, slot: dt.datetime) -> bool:
        """True for the second occurrence of a wall-clock time in a fall-back hour."""
        first = slot.replace(tzinfo=None).replace(tzinfo=self.zone, fold=0)
        # compared in UTC: within one zone Python compares wall-clock times and ignores `fold`
        return first.utcoffset() != slot.utcoffset() and first.astimezone(dt.UTC) < slot.astimezone(dt.UTC)


def parse_cron(expression: str, timezone: str) -> Cron:
    """A validated cron; CronError names the field `cron` or `timezone`."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError("timezone", f"unknown IANA time zone {timezone!r}") from None
    field = "cron"
    if len(expression.split()) != FIELDS or not croniter.is_valid(expression):
        raise CronError(
            field, f"not a valid 5-field cron expression (minute hour day month weekday): {expression!r}"
        )
    cron = Cron(expression, zone)
    try:  # valid syntax that never fires (February 31st) is refused here, not found by a tick
        cron.next_slots(dt.datetime(2000, 1, 1, tzinfo=dt.UTC), 1)
    except CroniterError:
        raise CronError(field, f"the cron expression {expression!r} never fires") from None
    return cron
