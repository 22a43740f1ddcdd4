"""Feeds: folders of the feeds store that workers poll; new files become datasets once (docs/feeds.md)."""
