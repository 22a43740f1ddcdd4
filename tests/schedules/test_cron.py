"""Cron slots in a time zone: weekdays, DST (spring forward runs once at the next valid time, fall back runs
once), the latest due slot, and the errors naming the field."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from recon.schedules.cron import CronError, parse_cron

BERLIN = ZoneInfo("Europe/Berlin")


def test_weekday_mornings_in_the_zone() -> None:
    cron = parse_cron("0 6 * * 1-5", "Europe/Berlin")
    friday_noon = dt.datetime(2026, 3, 27, 12, tzinfo=BERLIN)
    slots = cron.next_slots(friday_noon, 3)
    assert [s.isoformat() for s in slots] == [
        "2026-03-30T06:00:00+02:00",  # Monday, after the switch to summer time on Sunday
        "2026-03-31T06:00:00+02:00",
        "2026-04-01T06:00:00+02:00",
    ]


def test_spring_forward_runs_once_at_the_next_valid_time() -> None:
    slots = parse_cron("30 2 * * *", "Europe/Berlin").next_slots(
        dt.datetime(2026, 3, 28, 12, tzinfo=BERLIN), 2
    )
    assert [s.isoformat() for s in slots] == ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"]


def test_fall_back_runs_once() -> None:
    cron = parse_cron("30 2 * * *", "Europe/Berlin")
    slots = cron.next_slots(dt.datetime(2026, 10, 24, 12, tzinfo=BERLIN), 2)
    assert [s.isoformat() for s in slots] == ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]
    # at 02:45 of the second (winter-time) 02:xx hour, the due slot is still the first 02:30
    second_pass = dt.datetime(2026, 10, 25, 1, 45, tzinfo=dt.UTC)
    assert cron.latest_due(second_pass) == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)


def test_latest_due_slot_includes_now_and_skips_older_ones() -> None:
    cron = parse_cron("0 6 * * 1-5", "Europe/Berlin")
    at_slot = dt.datetime(2026, 12, 7, 5, 0, tzinfo=dt.UTC)  # Monday 06:00 in Berlin (UTC+1)
    assert cron.latest_due(at_slot) == at_slot
    a_week_later = at_slot + dt.timedelta(days=7, hours=3)
    assert cron.latest_due(a_week_later) == dt.datetime(2026, 12, 14, 5, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("cron", "zone", "field"),
    [
        ("0 6 * * 1-5", "Mars/Olympus", "timezone"),
        ("0 6 * * 1-5", "../../etc/passwd", "timezone"),
        ("61 6 * * *", "UTC", "cron"),
        ("0 6 * * * *", "UTC", "cron"),  # seconds are not cron's five fields
        ("every day", "UTC", "cron"),
        ("0 0 31 2 *", "UTC", "cron"),  # valid syntax, never fires
    ],
)
def test_bad_input_names_the_field(cron: str, zone: str, field: str) -> None:
    with pytest.raises(CronError) as caught:
        parse_cron(cron, zone)
    assert caught.value.field == field
