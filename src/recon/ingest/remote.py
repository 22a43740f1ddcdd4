"""Inputs that are not a local file read by this process: objects on S3, and tables another engine read.

- `s3a://bucket/key` (Hadoop's name, which Spark uses) and `s3://bucket/key` are read and written through
  pyarrow's S3 filesystem on this machine (`filesystem`, `read_object`, `upload_folder`). The endpoint and
  region come from the caller (the platform's S3_ENDPOINT_URL / S3_REGION settings, which recon.storage
  uses too) or from the standard AWS environment (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_REGION or
  AWS_DEFAULT_REGION); credentials from the standard AWS chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
  AWS_SESSION_TOKEN, a profile or an instance role), as boto3 finds them.
- `read_table`: a Parquet file's rows that another engine read (the Spark backend reads Parquet inputs with
  `spark.read.parquet` and orders them by id there), typed and split into accepted and rejected records by
  the same code as `read_file`, with each row's number in its file so errors name the file's rows.

Pure library: no web, ORM or platform imports (import-linter enforces it); the caller passes the settings.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from recon.ingest.errors import IngestError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyarrow.fs import S3FileSystem

    from recon.ingest.options import ReadOptions
    from recon.ingest.reader import IngestResult

SCHEMES = ("s3a", "s3")
_URL = re.compile(r"^(s3a?):/+(.*)$", re.IGNORECASE)
CHUNK = 1 << 20


@dataclass(frozen=True)
class S3Object:
    """`s3a://bucket/key` or `s3://bucket/key` (key may be empty for a bucket, or name a folder)."""

    scheme: str
    bucket: str
    key: str

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.bucket}/{self.key}" if self.key else f"{self.scheme}://{self.bucket}"

    @property
    def s3a(self) -> str:
        """The same object under Hadoop's S3A scheme (what Spark's filesystem layer reads)."""
        return replace(self, scheme="s3a").url

    @property
    def path(self) -> str:
        """pyarrow's name for it: bucket/key."""
        return f"{self.bucket}/{self.key}" if self.key else self.bucket

    def child(self, name: str) -> S3Object:
        return replace(self, key=f"{self.key.rstrip('/')}/{name}" if self.key else name)


def location(value: str | os.PathLike[str]) -> str:
    """The text of an input or output location: an S3 URL as written (a pathlib.Path made from
    `s3a://bucket/key` reads `s3a:/bucket/key`, which is given back as `s3a://bucket/key`), else the path."""
    text = os.fspath(value)
    found = _URL.match(text)
    return f"{found.group(1).lower()}://{found.group(2)}" if found else text


def is_s3(value: str | os.PathLike[str]) -> bool:
    return _URL.match(os.fspath(value)) is not None


def parse(url: str | os.PathLike[str]) -> S3Object:
    """An S3 URL's bucket and key; IngestError naming the URL when it has no bucket."""
    text = location(url)
    parts = urlsplit(text)
    if parts.scheme.lower() not in SCHEMES or not parts.netloc:
        raise IngestError("not an S3 location like s3a://bucket/key", file=text)
    return S3Object(parts.scheme.lower(), parts.netloc, parts.path.lstrip("/"))


def filesystem(endpoint_url: str | None = None, region: str | None = None) -> S3FileSystem:
    """pyarrow's S3 filesystem for `endpoint_url` (e.g. http://127.0.0.1:9000 for MinIO; default the AWS
    environment's AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, else AWS itself) and `region` (default AWS_REGION /
    AWS_DEFAULT_REGION); credentials from the standard AWS chain."""
    from pyarrow.fs import S3FileSystem

    endpoint = (
        endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
    )
    options: dict[str, object] = {
        "region": region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
    }
    if endpoint:
        parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        options.update(endpoint_override=parts.netloc, scheme=parts.scheme or "https")
        # MinIO, moto and most S3-compatible servers answer path-style requests only
        options["force_virtual_addressing"] = False
    return S3FileSystem(**{k: v for k, v in options.items() if v is not None})


def _failure(obj: S3Object, exc: OSError, fs: S3FileSystem) -> IngestError:
    from pyarrow.fs import FileType

    detail = str(exc).split("\n", 1)[0]
    if isinstance(exc, FileNotFoundError) or "NoSuchKey" in detail or "NoSuchBucket" in detail:
        try:
            bucket = fs.get_file_info(obj.bucket).type != FileType.NotFound
        except OSError:
            bucket = True
        if not bucket:
            return IngestError(f"no such S3 bucket {obj.bucket!r}", file=obj.url)
        return IngestError(f"no such S3 object {obj.key!r} in bucket {obj.bucket!r}", file=obj.url)
    return IngestError(f"cannot read from S3 ({detail})", file=obj.url)


def read_object(url: str | os.PathLike[str], fs: S3FileSystem) -> bytes:
    """The bytes of one S3 object; IngestError naming the URL when it is missing or unreadable."""
    obj = parse(url)
    if not obj.key:
        raise IngestError("names a bucket, not an object (s3a://bucket/key)", file=obj.url)
    try:
        with fs.open_input_stream(obj.path) as stream:
            data: bytes = stream.readall()
    except OSError as exc:
        raise _failure(obj, exc, fs) from None
    return data


def sha256_of_object(url: str | os.PathLike[str], fs: S3FileSystem) -> str:
    """The SHA-256 of an S3 object's bytes, streamed (never all in memory)."""
    obj = parse(url)
    digest = hashlib.sha256()
    try:
        with fs.open_input_stream(obj.path) as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise _failure(obj, exc, fs) from None
    return digest.hexdigest()


def check_bucket(url: str | os.PathLike[str], fs: S3FileSystem) -> None:
    """IngestError naming the URL when its bucket does not exist or cannot be reached (before any work)."""
    from pyarrow.fs import FileType

    obj = parse(url)
    try:
        info = fs.get_file_info(obj.bucket)
    except OSError as exc:
        raise IngestError(f"cannot reach the S3 bucket ({str(exc).splitlines()[0]})", file=obj.url) from None
    if info.type == FileType.NotFound:
        raise IngestError(f"no such S3 bucket {obj.bucket!r}", file=obj.url)


def upload_folder(folder: Path, url: str | os.PathLike[str], fs: S3FileSystem) -> list[str]:
    """Copy the files of `folder` (not its subfolders) under the S3 prefix `url`; their URLs (name order)."""
    target = parse(url)
    written = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        obj = target.child(path.name)
        try:
            with path.open("rb") as source, fs.open_output_stream(obj.path) as sink:
                while chunk := source.read(CHUNK):
                    sink.write(chunk)
        except OSError as exc:
            raise IngestError(f"cannot write to S3 ({str(exc).splitlines()[0]})", file=obj.url) from None
        written.append(obj.url)
    return written


def read_table(
    table: pa.Table,
    rows: pa.Array,
    *,
    filename: str,
    sha256: str,
    options: ReadOptions | None = None,
    types: Mapping[str, str] | None = None,
    id_column: str | None = None,
) -> IngestResult:
    """A Parquet file's records read by another engine, in any order, with `rows` the 1-based position of
    each in the file: typed, checked and split as `read_file` does with the file itself (rejected records
    and errors carry the file's row numbers; accepted records keep the given order)."""
    import pyarrow as pa

    from recon.ingest import columns as column_types
    from recon.ingest.options import ReadOptions

    # the Parquet parser's and the reader's own steps (one package: the same typing as read_file)
    from recon.ingest.parsers.parquet import _plain
    from recon.ingest.raw import RawTable
    from recon.ingest.reader import _result

    options = options or ReadOptions()
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    try:
        hints = column_types.check_types(types)
        plain = pa.Table.from_arrays([_plain(c) for c in table.columns], names=table.column_names)
        raw = RawTable(plain, rows=rows)
        result = _result(raw, format="parquet", options=options, hints=hints, id_column=id_column)
    except IngestError as exc:
        raise exc.with_file(filename) from exc.__cause__
    return replace(result, sha256=sha256)
