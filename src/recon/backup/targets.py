"""Where backups are kept: an S3 bucket (BACKUP_S3_BUCKET) or a local directory (BACKUP_DIR)."""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from recon.config import Settings


class BackupNotFound(LookupError):
    pass


class BackupTarget(ABC):
    """Objects addressed as `<backup id>/<name>`."""

    description: str

    @abstractmethod
    def put_file(self, backup_id: str, name: str, path: Path) -> None: ...

    @abstractmethod
    def put_bytes(self, backup_id: str, name: str, data: bytes) -> None: ...

    @abstractmethod
    def get_file(self, backup_id: str, name: str, path: Path) -> None: ...

    @abstractmethod
    def get_bytes(self, backup_id: str, name: str) -> bytes: ...

    @abstractmethod
    def backup_ids(self) -> list[str]:
        """Ids of the backups that have the given object (their manifest), in any order."""

    @abstractmethod
    def has(self, backup_id: str, name: str) -> bool: ...

    @abstractmethod
    def delete(self, backup_id: str) -> None: ...


class DirTarget(BackupTarget):
    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = str(root)

    def _path(self, backup_id: str, name: str) -> Path:
        return self.root / backup_id / name

    def put_file(self, backup_id: str, name: str, path: Path) -> None:
        target = self._path(backup_id, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)

    def put_bytes(self, backup_id: str, name: str, data: bytes) -> None:
        target = self._path(backup_id, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        partial.write_bytes(data)
        partial.replace(target)

    def get_file(self, backup_id: str, name: str, path: Path) -> None:
        source = self._path(backup_id, name)
        if not source.is_file():
            raise BackupNotFound(f"{backup_id}/{name} not found in {self.root}")
        shutil.copyfile(source, path)

    def get_bytes(self, backup_id: str, name: str) -> bytes:
        source = self._path(backup_id, name)
        if not source.is_file():
            raise BackupNotFound(f"{backup_id}/{name} not found in {self.root}")
        return source.read_bytes()

    def backup_ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return [entry.name for entry in self.root.iterdir() if entry.is_dir()]

    def has(self, backup_id: str, name: str) -> bool:
        return self._path(backup_id, name).is_file()

    def delete(self, backup_id: str) -> None:
        shutil.rmtree(self.root / backup_id, ignore_errors=True)


class S3Target(BackupTarget):
    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client
        self.description = f"s3://{bucket}/{self.prefix}"

    def _key(self, backup_id: str, name: str = "") -> str:
        return "/".join(part for part in (self.prefix, backup_id, name) if part)

    def put_file(self, backup_id: str, name: str, path: Path) -> None:
        self.client.upload_file(str(path), self.bucket, self._key(backup_id, name))

    def put_bytes(self, backup_id: str, name: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(backup_id, name), Body=data)

    def get_file(self, backup_id: str, name: str, path: Path) -> None:
        if not self.has(backup_id, name):
            raise BackupNotFound(f"{backup_id}/{name} not found in {self.description}")
        self.client.download_file(self.bucket, self._key(backup_id, name), str(path))

    def get_bytes(self, backup_id: str, name: str) -> bytes:
        if not self.has(backup_id, name):
            raise BackupNotFound(f"{backup_id}/{name} not found in {self.description}")
        response = self.client.get_object(Bucket=self.bucket, Key=self._key(backup_id, name))
        return bytes(response["Body"].read())

    def backup_ids(self) -> list[str]:
        prefix = self._key("") + "/" if self.prefix else ""
        ids: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, Delimiter="/"
        ):
            for common in page.get("CommonPrefixes", []):
                ids.append(common["Prefix"][len(prefix) :].strip("/"))
        return ids

    def has(self, backup_id: str, name: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(backup_id, name))
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def delete(self, backup_id: str) -> None:
        prefix = self._key(backup_id) + "/"
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})


def target_from_settings(settings: Settings) -> BackupTarget:
    if settings.backup_s3_bucket:
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )
        return S3Target(settings.backup_s3_bucket, settings.backup_s3_prefix, client)
    return DirTarget(settings.backup_dir or settings.data_dir / "backups")
