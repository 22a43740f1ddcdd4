"""Feeds: the rows of the `feeds` table (a project's watched folders)."""

from __future__ import annotations

from recon.core.repository import Repository
from recon.models import Feed


class FeedRepository(Repository[Feed]):
    model = Feed
    noun = "feed"
