"""Objects as files under DATA_DIR/objects, written to a temp file, fsynced, then renamed into place."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO

from recon.storage.base import ListedObject, ObjectNotFound, ObjectStore, check_key


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _invalid_key(key: str) -> bool:
    try:
        check_key(key)
    except ValueError:
        return True
    return False


class LocalStore(ObjectStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._tmp = self.root / ".tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path_of(self, key: str) -> Path:
        return self.root / check_key(key)

    @contextmanager
    def _upload_spool(self) -> Iterator[IO[bytes]]:
        """A temp file in the store's own directory (same filesystem, so the final rename is atomic; its
        `name` is its path); removed unless it was linked into place."""
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        os.close(fd)
        try:
            with open(name, "wb") as handle:
                yield handle
        finally:
            Path(name).unlink(missing_ok=True)

    def _keep_spool(self, spool: IO[bytes], key: str) -> None:
        spool.flush()
        os.fsync(spool.fileno())
        spool.close()
        if not self.path_of(key).exists():
            self._publish(Path(spool.name), key, replace=False)

    def _publish(self, temp: Path, key: str, *, replace: bool) -> None:
        target = self.path_of(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if replace:
            os.replace(temp, target)
        else:
            try:  # link() fails if the key exists: a concurrent identical upload is not rewritten
                os.link(temp, target)
            except FileExistsError:
                return
        _fsync_dir(target.parent)

    def put_bytes(self, key: str, data: bytes) -> None:
        self.path_of(key)  # validate before writing anything
        with self._upload_spool() as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            self._publish(Path(handle.name), key, replace=True)

    def open(self, key: str) -> BinaryIO:
        try:
            return self.path_of(key).open("rb")
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def list_objects(self, prefix: str) -> Iterator[ListedObject]:
        folder = self.path_of(prefix.strip("/"))
        if not folder.is_dir():
            return
        for path in sorted(folder.rglob("*")):
            key = path.relative_to(self.root).as_posix()
            if not path.is_file() or _invalid_key(key):
                continue
            stat = path.stat()
            yield ListedObject(key=key, size=stat.st_size, marker=f"{stat.st_size}:{stat.st_mtime_ns}")

    def exists(self, key: str) -> bool:
        return self.path_of(key).is_file()

    def delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        path = self.path_of(key)
        if not path.is_file():
            raise ObjectNotFound(key)
        yield path
