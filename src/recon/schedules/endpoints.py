"""HTTP surface of schedules: create, list, read (with the next run times), change, delete."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from recon.auth.dependencies import ProjectPreparer, ProjectViewer
from recon.core.db import DbSession
from recon.core.errors import fields_under
from recon.core.pagination import Page, Pagination
from recon.core.params import ProjectId, ResourceId
from recon.schedules.schemas import ScheduleCreate, ScheduleOut, ScheduleUpdate
from recon.schedules.service import ScheduleService

router = APIRouter(prefix="/projects/{project_id}/schedules", tags=["schedules"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ScheduleOut)
def create_schedule(
    project_id: ProjectId, body: ScheduleCreate, access: ProjectPreparer, session: DbSession
) -> ScheduleOut:
    """Run `ruleset_id` (its newest version) on `left` and `right` at the slots of `cron` in `timezone`
    and/or when a feed source has a new ready dataset (`on_new_file`). Slots missed while no worker ran fire
    once, not once per slot. `next_runs` shows the next slots."""
    service = ScheduleService(session)
    with fields_under("body"):
        return service.out(service.create(access, body))


@router.get("", response_model=Page[ScheduleOut])
def list_schedules(
    project_id: ProjectId, access: ProjectViewer, session: DbSession, page: Pagination
) -> Page[ScheduleOut]:
    service = ScheduleService(session)
    return service.page(access.project.id, page).map(service.out)


@router.get("/{schedule_id}", response_model=ScheduleOut)
def get_schedule(
    project_id: ProjectId, schedule_id: ResourceId, access: ProjectViewer, session: DbSession
) -> ScheduleOut:
    service = ScheduleService(session)
    return service.out(service.get(access.project.id, schedule_id))


@router.patch("/{schedule_id}", response_model=ScheduleOut)
def update_schedule(
    project_id: ProjectId,
    schedule_id: ResourceId,
    body: ScheduleUpdate,
    access: ProjectPreparer,
    session: DbSession,
) -> ScheduleOut:
    """Change the timing or pause it; slots missed while paused do not fire when it is enabled again."""
    service = ScheduleService(session)
    with fields_under("body"):
        return service.out(service.update(access, schedule_id, body))


@router.delete("/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_schedule(
    project_id: ProjectId, schedule_id: ResourceId, access: ProjectPreparer, session: DbSession
) -> None:
    ScheduleService(session).delete(access, schedule_id)
