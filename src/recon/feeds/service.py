"""Feeds: create, change, list and delete feeds, and list the files they saw. No HTTP, no commits; the
polling itself is recon.feeds.poll (called by the workers' tick)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recon.audit.service import AuditedRows
from recon.auth.access import ProjectAccess
from recon.config import Settings
from recon.core.errors import Conflict
from recon.core.pagination import Page, PageParams, SortKey, keyset_page
from recon.core.repository import check_version
from recon.datasets.service import check_mapping, check_read_options
from recon.feeds.repository import FeedRepository
from recon.feeds.schemas import FeedCreate, FeedFileOut, FeedOut, FeedUpdate
from recon.feeds.store import location_of
from recon.models import Feed, FeedFile, Schedule

ENTITY = "feed"


class FeedService(AuditedRows[Feed]):
    entity = ENTITY

    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.rows = FeedRepository(session)

    def create(self, access: ProjectAccess, body: FeedCreate) -> Feed:
        project_id = access.project.id
        mapping = check_mapping(body.mapping) if body.mapping is not None else None
        read_options = check_read_options(body.read_options)
        self._refuse_taken(project_id, name=body.name, path=body.path)
        feed = Feed(
            project_id=project_id,
            name=body.name,
            path=body.path.strip("/"),
            mapping=mapping,
            read_options=read_options,
            enabled=body.enabled,
            created_by_id=access.user.id,
        )
        return self.added(access.user.id, feed)

    def update(self, access: ProjectAccess, feed_id: str, body: FeedUpdate) -> Feed:
        feed = self.get(access.project.id, feed_id)
        check_version(feed, body.version)
        if body.name is not None and body.name != feed.name:
            self._refuse_taken(feed.project_id, name=body.name)
            feed.name = body.name
        if "mapping" in body.model_fields_set:
            feed.mapping = check_mapping(body.mapping) if body.mapping is not None else None
        if "read_options" in body.model_fields_set:
            feed.read_options = check_read_options(body.read_options)
        if body.enabled is not None:
            feed.enabled = body.enabled
            if body.enabled:
                feed.last_error = None
        return self.changed(access.user.id, feed)

    def delete(self, access: ProjectAccess, feed_id: str) -> None:
        """The feed and its file list; the datasets it made stay (they may be inputs of runs)."""
        feed = self.get(access.project.id, feed_id)
        schedule = self.session.scalar(
            select(Schedule.name).where(
                (Schedule.left_feed_id == feed.id) | (Schedule.right_feed_id == feed.id)
            )
        )
        if schedule is not None:
            raise Conflict(f"the feed is a source of schedule {schedule!r}: delete or change that first")
        self.deleted(access.user.id, feed)

    def files(self, project_id: str, feed_id: str, params: PageParams) -> Page[FeedFileOut]:
        feed = self.get(project_id, feed_id)
        keys = [SortKey(FeedFile.seen_at, descending=True), SortKey(FeedFile.id, descending=True)]
        stmt = select(FeedFile).where(FeedFile.feed_id == feed.id)
        return keyset_page(self.session, stmt, keys, params).map(FeedFileOut.model_validate)

    def out(self, feed: Feed) -> FeedOut:
        values: dict[str, Any] = {c.key: getattr(feed, c.key) for c in Feed.__table__.columns}
        return FeedOut.model_validate(
            {**values, "location": location_of(self.settings, feed.project_id, feed.path)}
        )

    def _refuse_taken(self, project_id: str, *, name: str, path: str | None = None) -> None:
        clash = Feed.name == name if path is None else (Feed.name == name) | (Feed.path == path.strip("/"))
        count = self.session.scalar(
            select(func.count()).select_from(Feed).where(Feed.project_id == project_id, clash)
        )
        if count:
            raise Conflict("a feed with this name or path exists in the project already")

    def audit_data(self, row: Feed) -> dict[str, Any]:
        return {"name": row.name, "path": row.path, "enabled": row.enabled}
