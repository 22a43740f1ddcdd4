"""Object storage for uploaded files and exports: `get_store(settings)` picks LocalStore or S3Store."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from recon.config import Settings
from recon.storage.base import (
    ListedObject,
    ObjectNotFound,
    ObjectStore,
    StoredObject,
    UploadTooLarge,
    content_key,
)
from recon.storage.local import LocalStore

if TYPE_CHECKING:
    from recon.storage.s3 import S3Store


def get_store(settings: Settings) -> ObjectStore:
    """The store configured by STORAGE_BACKEND: `local` (DATA_DIR/objects) or `s3` (S3_BUCKET, ...)."""
    if settings.storage_backend == "s3":
        if not settings.s3_bucket:
            raise ValueError("STORAGE_BACKEND=s3 needs S3_BUCKET")
        return _s3_store(settings.s3_bucket, settings.s3_prefix, settings.s3_endpoint_url, settings.s3_region)
    return LocalStore(settings.data_dir / "objects")


@lru_cache(maxsize=8)
def _s3_store(bucket: str, prefix: str, endpoint_url: str | None, region: str | None) -> S3Store:
    from recon.storage.s3 import S3Store

    # boto3 clients are thread-safe and slow to build: one per configuration and process.
    return S3Store(bucket, prefix=prefix, endpoint_url=endpoint_url, region=region)


def __getattr__(name: str) -> Any:
    # boto3 (~160 ms, ~25 MB) is imported only where S3 is used, not by every process that stores files.
    if name == "S3Store":
        from recon.storage.s3 import S3Store

        return S3Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ListedObject",
    "LocalStore",
    "ObjectNotFound",
    "ObjectStore",
    "S3Store",
    "StoredObject",
    "UploadTooLarge",
    "content_key",
    "get_store",
]
