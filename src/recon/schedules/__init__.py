"""Schedules: cron (with an IANA time zone) and new-file triggers that start runs (docs/feeds.md)."""
