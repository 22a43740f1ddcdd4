"""Shared path parameters (declare them in endpoint signatures so they appear in OpenAPI)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

ProjectId = Annotated[str, Path(description="Project id", max_length=64)]
UserId = Annotated[str, Path(description="User id", max_length=64)]
# Any other resource id (`dataset_id: ResourceId`); unknown or malformed ids answer 404 from the lookup.
ResourceId = Annotated[str, Path(description="Resource id", max_length=64)]
