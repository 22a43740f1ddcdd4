"""Objects in an S3-compatible bucket (AWS, MinIO, moto) through boto3.

Uploads are spooled to a temporary file while hashing (memory up to 8 MiB, then disk) so the size limit and
the content address are known before anything reaches the bucket: a too-large upload leaves nothing behind,
and an object that exists already is not uploaded again. The managed transfer uses multipart for big files.
Credentials come from the standard AWS environment (AWS_ACCESS_KEY_ID, ..., or an instance role).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from recon.storage.base import ListedObject, ObjectNotFound, ObjectStore, check_key

SPOOL_MEMORY_BYTES = 8 * 1024 * 1024
_TRANSFER = TransferConfig(multipart_threshold=16 * 1024 * 1024, multipart_chunksize=16 * 1024 * 1024)


def _is_missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}


class S3Store(ObjectStore):
    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )

    def _name(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _upload_spool(self) -> AbstractContextManager[IO[bytes]]:
        return tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)  # memory, then disk

    def _keep_spool(self, spool: IO[bytes], key: str) -> None:
        if not self.exists(key):
            spool.seek(0)
            self.client.upload_fileobj(spool, self.bucket, self._name(key), Config=_TRANSFER)

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data)

    def open(self, key: str) -> BinaryIO:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if _is_missing(exc):
                raise ObjectNotFound(key) from None
            raise
        return cast(BinaryIO, response["Body"])

    def list_objects(self, prefix: str) -> Iterator[ListedObject]:
        folder = self._name(prefix.strip("/")) + "/"
        strip = len(self.prefix) + 1 if self.prefix else 0
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=folder):
            for entry in page.get("Contents", []):
                key = entry["Key"][strip:]
                try:
                    check_key(key)
                except ValueError:
                    continue
                yield ListedObject(key=key, size=int(entry["Size"]), marker=str(entry["ETag"]).strip('"'))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if _is_missing(exc):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="recon-s3-") as tmp:
            path = Path(tmp) / key.rsplit("/", 1)[-1]
            with path.open("wb") as handle:
                self._download(key, handle)
            yield path

    def _download(self, key: str, handle: IO[bytes]) -> None:
        try:
            self.client.download_fileobj(self.bucket, self._name(key), handle, Config=_TRANSFER)
        except ClientError as exc:
            if _is_missing(exc):
                raise ObjectNotFound(key) from None
            raise
