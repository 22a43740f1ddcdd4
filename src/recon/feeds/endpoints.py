"""HTTP surface of feeds: create, list, read, change, delete, and the files a feed saw."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from recon.auth.dependencies import AppSettings, ProjectAdmin, ProjectViewer
from recon.core.db import DbSession
from recon.core.errors import fields_under
from recon.core.pagination import Page, Pagination
from recon.core.params import ProjectId, ResourceId
from recon.feeds.schemas import FeedCreate, FeedFileOut, FeedOut, FeedUpdate
from recon.feeds.service import FeedService

router = APIRouter(prefix="/projects/{project_id}/feeds", tags=["feeds"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=FeedOut)
def create_feed(
    project_id: ProjectId, body: FeedCreate, access: ProjectAdmin, session: DbSession, settings: AppSettings
) -> FeedOut:
    """Watch a folder: workers poll `location` every SCHEDULER_TICK_S and ingest each new file once per
    content (sha256), with the feed's mapping and read options, as a dataset created in the caller's name."""
    service = FeedService(session, settings)
    with fields_under("body"):
        return service.out(service.create(access, body))


@router.get("", response_model=Page[FeedOut])
def list_feeds(
    project_id: ProjectId, access: ProjectViewer, session: DbSession, settings: AppSettings, page: Pagination
) -> Page[FeedOut]:
    service = FeedService(session, settings)
    return service.page(access.project.id, page).map(service.out)


@router.get("/{feed_id}", response_model=FeedOut)
def get_feed(
    project_id: ProjectId,
    feed_id: ResourceId,
    access: ProjectViewer,
    session: DbSession,
    settings: AppSettings,
) -> FeedOut:
    service = FeedService(session, settings)
    return service.out(service.get(access.project.id, feed_id))


@router.patch("/{feed_id}", response_model=FeedOut)
def update_feed(
    project_id: ProjectId,
    *,
    feed_id: ResourceId,
    body: FeedUpdate,
    access: ProjectAdmin,
    session: DbSession,
    settings: AppSettings,
) -> FeedOut:
    """Change the name, mapping, read options or pause it (`enabled: false`); the path stays."""
    service = FeedService(session, settings)
    with fields_under("body"):
        return service.out(service.update(access, feed_id, body))


@router.delete("/{feed_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_feed(
    project_id: ProjectId,
    feed_id: ResourceId,
    access: ProjectAdmin,
    session: DbSession,
    settings: AppSettings,
) -> None:
    """Stop watching; the datasets the feed made stay."""
    FeedService(session, settings).delete(access, feed_id)


@router.get("/{feed_id}/files", response_model=Page[FeedFileOut])
def list_feed_files(
    project_id: ProjectId,
    *,
    feed_id: ResourceId,
    access: ProjectViewer,
    session: DbSession,
    settings: AppSettings,
    page: Pagination,
) -> Page[FeedFileOut]:
    """Files the feed saw, newest first: the dataset made from each, or the dataset it duplicates."""
    return FeedService(session, settings).files(access.project.id, feed_id, page)
