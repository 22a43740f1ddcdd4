"""Request and response bodies of feeds."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from recon.core.schemas import Input, RowOut

# Slash-separated folder names of safe characters (no `..`, no leading slash); <project id>/<path>/
# in the feeds store.
FeedPath = Annotated[
    str,
    StringConstraints(max_length=300, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*$"),
]


class FeedCreate(Input):
    name: str = Field(min_length=1, max_length=200)
    path: FeedPath = Field(description="The folder watched, inside the project's folder of the feeds store")
    mapping: dict[str, str] | None = Field(
        default=None, description="Column mapping of the files (none for bank statements)"
    )
    read_options: dict[str, Any] | None = Field(default=None, description="Read options of the files")
    enabled: bool = True


class FeedUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    mapping: dict[str, str] | None = None
    read_options: dict[str, Any] | None = None
    enabled: bool | None = None
    version: int | None = Field(default=None, description="The version read; 409 if it changed since")


class FeedOut(RowOut):
    id: str
    project_id: str
    name: str
    path: str
    location: str = Field(description="Where producers put files (s3://... or a directory of the server)")
    mapping: dict[str, str] | None
    read_options: dict[str, Any] | None
    enabled: bool
    last_polled_at: dt.datetime | None
    last_error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class FeedFileOut(RowOut):
    id: str
    key: str
    sha256: str
    size: int
    dataset_id: str | None = Field(description="The dataset made from the file (None: same content again)")
    duplicate_of: str | None = Field(description="The dataset that already holds this content")
    seen_at: dt.datetime
