"""Firing schedules: on each tick, a schedule whose latest due cron slot is after the one it fired last (or,
with `on_new_file`, whose feed sources have newer ready datasets than its last run) starts ONE run.

Slots missed while no worker ran are not replayed: only the latest due slot fires, once. The schedule row is
locked (PostgreSQL) and versioned, and the run is created with the Idempotency-Key `schedule:<id>:<slot>`,
so two workers ticking at the same moment start one run between them.
"""

from __future__ import annotations

import datetime as dt

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from recon.core.db import SessionFactory, session_scope
from recon.core.errors import ProblemError
from recon.core.time import utcnow
from recon.feeds.actor import creator_access
from recon.models import Dataset, DatasetStatus, FeedFile, Project, Schedule
from recon.runs.schemas import RunCreate
from recon.runs.service import RunService
from recon.schedules.cron import CronError, parse_cron

log = structlog.get_logger("recon.schedules")


def _newest_ready_of_feed(session: Session, feed_id: str) -> str | None:
    return session.scalar(
        select(Dataset.id)
        .join(FeedFile, FeedFile.dataset_id == Dataset.id)
        .where(FeedFile.feed_id == feed_id, Dataset.status == DatasetStatus.READY)
        .order_by(Dataset.created_at.desc(), Dataset.id.desc())
        .limit(1)
    )


def _ready(session: Session, dataset_id: str) -> str | None:
    status = session.scalar(select(Dataset.status).where(Dataset.id == dataset_id))
    return dataset_id if status == DatasetStatus.READY else None


def resolve_inputs(session: Session, schedule: Schedule) -> list[str | None]:
    """[left dataset id, right dataset id] the schedule would run now (None: no ready dataset yet)."""
    inputs: list[str | None] = []
    for feed_id, dataset_id in (
        (schedule.left_feed_id, schedule.left_dataset_id),
        (schedule.right_feed_id, schedule.right_dataset_id),
    ):
        if feed_id is not None:
            inputs.append(_newest_ready_of_feed(session, feed_id))
        else:
            inputs.append(_ready(session, dataset_id) if dataset_id else None)
    return inputs


def fire_due(session_factory: SessionFactory, now: dt.datetime | None = None) -> list[str]:
    """Fire every due schedule; the ids of the runs started."""
    now = now or utcnow()
    with session_scope(session_factory) as session:
        live = select(Project.id).where(Project.deleted_at.is_(None))
        stmt = select(Schedule.id).where(Schedule.enabled.is_(True), Schedule.project_id.in_(live))
        ids = list(session.scalars(stmt.order_by(Schedule.id)))
    runs: list[str] = []
    for schedule_id in ids:
        try:
            with session_scope(session_factory) as session:
                run_id = fire_one(session, schedule_id, now)
        except StaleDataError:  # another worker fired (or a user changed) it meanwhile
            continue
        except Exception as exc:
            log.warning("schedule_fire_failed", schedule_id=schedule_id, error=str(exc)[:300])
            continue
        if run_id is not None:
            runs.append(run_id)
    return runs


def fire_one(session: Session, schedule_id: str, now: dt.datetime) -> str | None:
    schedule = session.scalar(select(Schedule).where(Schedule.id == schedule_id).with_for_update())
    if schedule is None or not schedule.enabled:
        return None
    slot = _due_slot(schedule, now)
    inputs = resolve_inputs(session, schedule)
    new_inputs = schedule.on_new_file and None not in inputs and inputs != schedule.last_inputs
    if slot is None and not new_inputs:
        return None
    if slot is not None:
        schedule.last_slot_at = slot
    schedule.last_fired_at = now
    if None in inputs:
        side = "left" if inputs[0] is None else "right"
        schedule.last_error = (
            f"slot {slot:%Y-%m-%d %H:%M} UTC skipped: no ready {side} dataset yet" if slot else None
        )
        session.flush()
        return None
    trigger = f"slot:{slot.isoformat()}" if slot is not None else f"inputs:{inputs[0]}:{inputs[1]}"
    run_id = _start_run(session, schedule, inputs, trigger)
    schedule.last_inputs = inputs
    session.flush()
    return run_id


def _due_slot(schedule: Schedule, now: dt.datetime) -> dt.datetime | None:
    if not schedule.cron:
        return None
    try:
        latest = parse_cron(schedule.cron, schedule.timezone).latest_due(now)
    except CronError as exc:  # a zone removed from the system's tz database
        schedule.last_error = exc.message
        return None
    if schedule.last_slot_at is not None and latest <= schedule.last_slot_at:
        return None
    return latest


def _start_run(session: Session, schedule: Schedule, inputs: list[str | None], trigger: str) -> str | None:
    body = RunCreate(left_dataset_id=inputs[0], right_dataset_id=inputs[1], ruleset_id=schedule.ruleset_id)
    try:
        with session.begin_nested():
            access = creator_access(session, schedule.project_id, schedule.created_by_id)
            created = RunService(session).create(access, body, f"schedule:{schedule.id}:{trigger}"[:200])
    except ProblemError as exc:
        schedule.last_error = f"the run could not start: {exc.detail}"
        log.warning("schedule_run_refused", schedule_id=schedule.id, error=exc.detail)
        return None
    schedule.last_run_id = created.run.id
    schedule.last_error = None
    log.info("schedule_fired", schedule_id=schedule.id, run_id=created.run.id, trigger=trigger)
    return created.run.id
