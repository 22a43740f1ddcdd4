"""The object-store interface: content-addressed, streamed uploads with a size limit.

Keys look like `uploads/ab/ab12...` (prefix, first two hex digits of the sha256, the sha256). The same bytes
always get the same key, so a re-upload is detected by the key and never rewritten.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from recon.core.errors import PayloadTooLarge

CHUNK_SIZE = 1024 * 1024
_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*$")
_KEY_PART_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=-]*$")


@dataclass(frozen=True)
class StoredObject:
    key: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ListedObject:
    key: str
    size: int
    marker: str  # changes when the object does: the ETag on S3, size and mtime for files


class UploadTooLarge(PayloadTooLarge):
    """The stream exceeded `max_bytes`; nothing was stored. Rendered as a 413 problem if it escapes."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"the upload exceeds the limit of {max_bytes} bytes")
        self.max_bytes = max_bytes


class ObjectNotFound(KeyError):
    """No object under this key."""


def content_key(prefix: str, sha256: str) -> str:
    return f"{prefix}/{sha256[:2]}/{sha256}"


def check_prefix(prefix: str) -> str:
    if not _PREFIX_RE.match(prefix) or ".." in prefix:
        raise ValueError(f"invalid storage prefix {prefix!r}")
    return prefix


def check_key(key: str) -> str:
    """Keys are relative slash-separated names of safe characters (no `..`, no absolute paths)."""
    parts = key.split("/")
    if not key or any(not _KEY_PART_RE.match(p) or p in {".", ".."} for p in parts):
        raise ValueError(f"invalid storage key {key!r}")
    return key


class HashingLimiter:
    """Feeds chunks into a sha256 and counts bytes; raises UploadTooLarge past the limit."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._hash = hashlib.sha256()

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise UploadTooLarge(self.max_bytes)
        self._hash.update(chunk)

    @property
    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def iter_chunks(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    while chunk := stream.read(chunk_size):
        yield chunk


def iter_chunks_then_close(stream: BinaryIO) -> Iterator[bytes]:
    """A response body streamed from an opened object: closed when sent, or when the client goes away."""
    try:
        yield from iter_chunks(stream)
    finally:
        stream.close()


def sha256_file(path: Path) -> str:
    """The sha256 of a local file (what its content address would be), read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter_chunks(handle):
            digest.update(chunk)
    return digest.hexdigest()


class ObjectStore(ABC):
    """Where uploaded files and exports live: a local directory or an S3 bucket."""

    def put_stream(self, stream: BinaryIO, *, max_bytes: int, prefix: str = "uploads") -> StoredObject:
        """Store the stream under its content address. Raises UploadTooLarge (nothing stored) past
        `max_bytes`; an existing object with the same key is left as is.

        The bytes go to the store's spool while they are hashed and counted, so the size limit and the key
        are known before anything is stored."""
        check_prefix(prefix)
        limiter = HashingLimiter(max_bytes)
        with self._upload_spool() as spool:
            for chunk in iter_chunks(stream):
                limiter.update(chunk)  # raises UploadTooLarge; the spool is discarded on the way out
                spool.write(chunk)
            key = content_key(prefix, limiter.hexdigest)
            self._keep_spool(spool, key)
        return StoredObject(key=key, sha256=limiter.hexdigest, size=limiter.size)

    @abstractmethod
    def _upload_spool(self) -> AbstractContextManager[IO[bytes]]:
        """A writable file for an upload's bytes until its key is known; discarded on exit."""

    @abstractmethod
    def _keep_spool(self, spool: IO[bytes], key: str) -> None:
        """Store the spooled bytes under `key`, unless an object is there already (same key, same bytes)."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None:
        """Store `data` under an explicit key (replacing any previous object atomically)."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A streaming reader; raises ObjectNotFound."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; a missing object is not an error."""

    @abstractmethod
    def local_path(self, key: str) -> AbstractContextManager[Path]:
        """A local file with the object's bytes for file-based readers (DuckDB, pyarrow); for S3 a temporary
        download removed on exit. Raises ObjectNotFound."""

    @abstractmethod
    def list_objects(self, prefix: str) -> Iterator[ListedObject]:
        """Objects whose key starts with `prefix/` (feeds poll their folder with it). Keys that are not
        valid store keys (spaces, `..`) are skipped: they could not be opened."""

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as reader:
            return reader.read()
