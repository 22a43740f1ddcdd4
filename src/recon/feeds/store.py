"""The feeds store: where feed folders live (a local directory in the embedded mode, else an S3 prefix)."""

from __future__ import annotations

from functools import lru_cache

from recon.config import Settings
from recon.storage import LocalStore, ObjectStore


def feeds_backend(settings: Settings) -> str:
    return settings.feeds_backend or settings.storage_backend


def feeds_store(settings: Settings) -> ObjectStore:
    if feeds_backend(settings) == "s3":
        bucket = settings.feeds_s3_bucket or settings.s3_bucket
        if not bucket:
            raise ValueError("FEEDS_BACKEND=s3 needs FEEDS_S3_BUCKET or S3_BUCKET")
        return _s3(bucket, settings.feeds_s3_prefix, settings.s3_endpoint_url, settings.s3_region)
    return LocalStore(settings.feeds_dir or settings.data_dir / "feeds")


@lru_cache(maxsize=8)
def _s3(bucket: str, prefix: str, endpoint_url: str | None, region: str | None) -> ObjectStore:
    from recon.storage.s3 import S3Store

    return S3Store(bucket, prefix=prefix, endpoint_url=endpoint_url, region=region)


def folder_of(project_id: str, path: str) -> str:
    """The store folder of a feed: the project's own folder, so no feed can read another project's files."""
    return f"{project_id}/{path.strip('/')}"


def location_of(settings: Settings, project_id: str, path: str) -> str:
    """Where producers put the files, as shown to users (s3://bucket/prefix/... or a directory)."""
    folder = folder_of(project_id, path)
    if feeds_backend(settings) == "s3":
        bucket = settings.feeds_s3_bucket or settings.s3_bucket
        prefix = settings.feeds_s3_prefix.strip("/")
        return f"s3://{bucket}/{prefix + '/' if prefix else ''}{folder}/"
    return f"{(settings.feeds_dir or settings.data_dir / 'feeds').resolve()}/{folder}/"
