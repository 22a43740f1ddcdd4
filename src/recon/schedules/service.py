"""Schedules: create, change, list, delete; the next slots they will fire at. No HTTP, no commits; firing
is recon.schedules.fire (called by the workers' tick)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recon.audit.service import AuditedRows
from recon.auth.access import ProjectAccess
from recon.core.errors import Conflict, FieldError, Unprocessable
from recon.core.repository import check_version
from recon.core.responses import response_of
from recon.core.time import utcnow
from recon.models import Dataset, Feed, RuleSet, Schedule
from recon.schedules.cron import CronError, parse_cron
from recon.schedules.fire import resolve_inputs
from recon.schedules.repository import ScheduleRepository
from recon.schedules.schemas import ScheduleCreate, ScheduleOut, ScheduleUpdate, Source

ENTITY = "schedule"
NEXT_RUNS = 5


def _invalid(field: str, message: str) -> Unprocessable:
    return Unprocessable(f"{field}: {message}", errors=[FieldError(field=field, message=message)])


def check_cron(cron: str | None, timezone: str) -> None:
    try:
        parse_cron(cron or "* * * * *", timezone)
    except CronError as exc:
        raise _invalid(exc.field, exc.message) from None


class ScheduleService(AuditedRows[Schedule]):
    entity = ENTITY

    def __init__(self, session: Session) -> None:
        self.session = session
        self.rows = ScheduleRepository(session)

    def create(self, access: ProjectAccess, body: ScheduleCreate) -> Schedule:
        project_id = access.project.id
        check_cron(body.cron, body.timezone)
        if body.cron is None and not body.on_new_file:
            raise _invalid("cron", "give a cron expression or on_new_file: true")
        self._check_refs(project_id, body)
        self._refuse_taken(project_id, body.name)
        schedule = Schedule(
            project_id=project_id,
            name=body.name,
            ruleset_id=body.ruleset_id,
            left_feed_id=body.left.feed_id,
            left_dataset_id=body.left.dataset_id,
            right_feed_id=body.right.feed_id,
            right_dataset_id=body.right.dataset_id,
            cron=body.cron,
            timezone=body.timezone,
            on_new_file=body.on_new_file,
            enabled=body.enabled,
            created_by_id=access.user.id,
        )
        self._start_from_now(schedule)
        return self.added(access.user.id, schedule)

    def update(self, access: ProjectAccess, schedule_id: str, body: ScheduleUpdate) -> Schedule:
        schedule = self.get(access.project.id, schedule_id)
        check_version(schedule, body.version)
        cron = body.cron if "cron" in body.model_fields_set else schedule.cron
        timezone = body.timezone or schedule.timezone
        on_new_file = schedule.on_new_file if body.on_new_file is None else body.on_new_file
        check_cron(cron, timezone)
        if cron is None and not on_new_file:
            raise _invalid("cron", "give a cron expression or on_new_file: true")
        if body.name is not None and body.name != schedule.name:
            self._refuse_taken(schedule.project_id, body.name)
            schedule.name = body.name
        retimed = (cron, timezone) != (schedule.cron, schedule.timezone)
        schedule.cron, schedule.timezone, schedule.on_new_file = cron, timezone, on_new_file
        if body.enabled is not None:
            retimed = retimed or (body.enabled and not schedule.enabled)
            schedule.enabled = body.enabled
        if retimed:  # slots missed while disabled or under another cron do not fire now
            self._start_from_now(schedule)
        return self.changed(access.user.id, schedule)

    def delete(self, access: ProjectAccess, schedule_id: str) -> None:
        schedule = self.get(access.project.id, schedule_id)
        self.deleted(access.user.id, schedule)

    @staticmethod
    def out(schedule: Schedule) -> ScheduleOut:
        next_runs = []
        if schedule.cron and schedule.enabled:
            next_runs = parse_cron(schedule.cron, schedule.timezone).next_slots(utcnow(), NEXT_RUNS)
        return response_of(
            ScheduleOut,
            schedule,
            left=Source(feed_id=schedule.left_feed_id, dataset_id=schedule.left_dataset_id),
            right=Source(feed_id=schedule.right_feed_id, dataset_id=schedule.right_dataset_id),
            next_runs=next_runs,
        )

    def _start_from_now(self, schedule: Schedule) -> None:
        """Only slots after now fire, and a new-file trigger waits for inputs newer than today's."""
        now = utcnow()
        schedule.last_slot_at = (
            parse_cron(schedule.cron, schedule.timezone).latest_due(now) if schedule.cron else None
        )
        schedule.last_inputs = resolve_inputs(self.session, schedule)

    def _check_refs(self, project_id: str, body: ScheduleCreate) -> None:
        ruleset = self.session.scalar(
            select(RuleSet.id).where(RuleSet.id == body.ruleset_id, RuleSet.project_id == project_id)
        )
        if ruleset is None:
            raise _invalid("ruleset_id", f"no rule set {body.ruleset_id!r} in this project")
        for side, source in (("left", body.left), ("right", body.right)):
            model, ident, field = (
                (Feed, source.feed_id, "feed_id")
                if source.feed_id
                else (Dataset, source.dataset_id, "dataset_id")
            )
            found = self.session.scalar(
                select(model.id).where(model.id == ident, model.project_id == project_id)
            )
            if found is None:
                raise _invalid(f"{side}.{field}", f"no {field[:-3]} {ident!r} in this project")

    def _refuse_taken(self, project_id: str, name: str) -> None:
        count = self.session.scalar(
            select(func.count())
            .select_from(Schedule)
            .where(Schedule.project_id == project_id, Schedule.name == name)
        )
        if count:
            raise Conflict(f"a schedule named {name!r} exists in the project already")

    def audit_data(self, row: Schedule) -> dict[str, Any]:
        return {"name": row.name, "cron": row.cron, "timezone": row.timezone,
                "on_new_file": row.on_new_file, "enabled": row.enabled}  # fmt: skip
