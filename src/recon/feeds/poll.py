"""Polling a feed: list its folder, ingest every object not seen before (by key and change marker) through
the datasets upload service, once per content (sha256) per feed.

Each new object is one transaction (its FeedFile row, the dataset and the ingestion job): a worker that dies
halfway leaves the object unseen and the next tick takes it again. Two workers polling at once both may hash
an object, but the unique (feed, key, marker) row lets only one commit; the loser's transaction rolls back.
"""

from __future__ import annotations

import posixpath

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.core.errors import ProblemError
from recon.core.time import utcnow
from recon.datasets.service import DatasetService, Upload
from recon.feeds.actor import creator_access
from recon.feeds.store import feeds_store, folder_of
from recon.models import Feed, FeedFile, Project
from recon.storage import ListedObject, ObjectStore, get_store
from recon.storage.base import sha256_file

log = structlog.get_logger("recon.feeds")


def poll_all(session_factory: SessionFactory, settings: Settings) -> int:
    """Poll every enabled feed of live projects; the number of new datasets."""
    with session_scope(session_factory) as session:
        live = select(Project.id).where(Project.deleted_at.is_(None))
        stmt = select(Feed.id).where(Feed.enabled.is_(True), Feed.project_id.in_(live)).order_by(Feed.id)
        feed_ids = list(session.scalars(stmt))
    made = 0
    for feed_id in feed_ids:
        try:
            made += poll_feed(session_factory, settings, feed_id)
        except Exception as exc:  # one broken feed (store down, bad credentials) must not stop the others
            log.warning("feed_poll_failed", feed_id=feed_id, error=str(exc)[:300])
            _note(session_factory, feed_id, f"polling failed: {str(exc)[:500]}")
    return made


def poll_feed(session_factory: SessionFactory, settings: Settings, feed_id: str) -> int:
    store = feeds_store(settings)
    with session_scope(session_factory) as session:
        feed = session.get(Feed, feed_id)
        if feed is None or not feed.enabled:
            return 0
        folder = folder_of(feed.project_id, feed.path)
        seen = set(session.execute(select(FeedFile.key, FeedFile.marker).where(FeedFile.feed_id == feed_id)))
    new = [o for o in store.list_objects(folder) if (o.key, o.marker) not in seen]
    made, error = 0, None
    for listed in new[: settings.feeds_max_files_per_tick]:
        try:
            with session_scope(session_factory) as session:
                made += _ingest(session, settings, store, feed_id, listed)
        except IntegrityError:  # another worker took this object in the meantime
            continue
        except ProblemError as exc:  # too large, creator without access, ...
            error = f"{posixpath.basename(listed.key)}: {exc.detail}"
            log.warning("feed_file_refused", feed_id=feed_id, key=listed.key, error=exc.detail)
    _note(session_factory, feed_id, error)
    if made:
        log.info("feed_files_ingested", feed_id=feed_id, datasets=made)
    return made


def _ingest(
    session: Session, settings: Settings, store: ObjectStore, feed_id: str, listed: ListedObject
) -> int:
    feed = session.get(Feed, feed_id)
    if feed is None:
        return 0
    with store.local_path(listed.key) as path:
        sha256 = sha256_file(path)
        earlier = session.scalar(
            select(FeedFile).where(
                FeedFile.feed_id == feed_id, FeedFile.sha256 == sha256, FeedFile.dataset_id.is_not(None)
            )
        )
        row = FeedFile(
            feed_id=feed_id, key=listed.key, marker=listed.marker, sha256=sha256, size=listed.size,
            seen_at=utcnow(),
        )  # fmt: skip
        if earlier is not None:  # the same content again (renamed, re-sent): seen, not ingested twice
            row.dataset_id, row.duplicate_of = None, earlier.dataset_id
            session.add(row)
            session.flush()
            return 0
        session.add(row)
        session.flush()  # the unique (feed, key, marker) row first: a concurrent poller fails here
        access = creator_access(session, feed.project_id, feed.created_by_id)
        with path.open("rb") as stream:
            upload = Upload(
                stream=stream,
                filename=posixpath.basename(listed.key),
                name=f"{feed.name}: {posixpath.basename(listed.key)}"[:200],
                mapping=feed.mapping,
                read_options=feed.read_options,
            )
            accepted = DatasetService(session, get_store(settings)).upload(
                access, upload, max_bytes=settings.upload_max_bytes
            )
        row.dataset_id = accepted.dataset.id
        session.flush()
    return 1


def _note(session_factory: SessionFactory, feed_id: str, error: str | None) -> None:
    with session_scope(session_factory) as session:
        feed = session.get(Feed, feed_id)
        if feed is not None:
            feed.last_polled_at = utcnow()
            feed.last_error = error
