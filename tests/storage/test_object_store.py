"""put/get/exists/delete/local_path and the size limit, on the local store and on S3 (moto server)."""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path

import boto3
import pytest
from boto3.s3.transfer import TransferConfig

from recon.config import Settings
from recon.storage import LocalStore, ObjectNotFound, ObjectStore, S3Store, UploadTooLarge


def _payload(size: int, seed: int = 1) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def _stored_names(store: ObjectStore, settings: Settings) -> list[str]:
    """Every object the backend holds (temp files included), to prove nothing is left behind."""
    if isinstance(store, LocalStore):
        return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file())
    assert isinstance(store, S3Store)
    client = boto3.client("s3", endpoint_url=settings.s3_endpoint_url, region_name="us-east-1")
    listing = client.list_objects_v2(Bucket=settings.s3_bucket)
    uploads = client.list_multipart_uploads(Bucket=settings.s3_bucket).get("Uploads", [])
    return sorted(o["Key"] for o in listing.get("Contents", [])) + [u["Key"] for u in uploads]


def test_put_stream_is_content_addressed_and_reads_back(store: ObjectStore) -> None:
    data = _payload(3 * 1024 * 1024 + 17)  # several chunks, not a multiple of the chunk size
    digest = hashlib.sha256(data).hexdigest()

    obj = store.put_stream(io.BytesIO(data), max_bytes=len(data))

    assert obj.sha256 == digest
    assert obj.size == len(data)
    assert obj.key == f"uploads/{digest[:2]}/{digest}"
    assert store.exists(obj.key)
    assert store.read_bytes(obj.key) == data
    with store.open(obj.key) as reader:
        assert reader.read(10) == data[:10]
    with store.local_path(obj.key) as path:
        assert path.read_bytes() == data


def test_same_content_twice_gives_the_same_key_and_is_not_rewritten(store: ObjectStore) -> None:
    first = store.put_stream(io.BytesIO(b"date,amount\n2024-01-01,1.00\n"), max_bytes=1000, prefix="exports")
    second = store.put_stream(io.BytesIO(b"date,amount\n2024-01-01,1.00\n"), max_bytes=1000, prefix="exports")
    other = store.put_stream(io.BytesIO(b"something else"), max_bytes=1000, prefix="exports")

    assert first == second
    assert other.key != first.key
    assert first.key.startswith("exports/")


def test_too_large_upload_raises_and_leaves_nothing(store: ObjectStore, store_settings: Settings) -> None:
    before = _stored_names(store, store_settings)
    data = _payload(2 * 1024 * 1024 + 1)

    with pytest.raises(UploadTooLarge) as caught:
        store.put_stream(io.BytesIO(data), max_bytes=2 * 1024 * 1024)

    assert caught.value.status == 413
    assert "2097152" in str(caught.value)
    assert _stored_names(store, store_settings) == before
    digest = hashlib.sha256(data).hexdigest()
    assert not store.exists(f"uploads/{digest[:2]}/{digest}")


def test_exact_limit_is_accepted_and_empty_stream_is_stored(store: ObjectStore) -> None:
    assert store.put_stream(io.BytesIO(b"12345"), max_bytes=5).size == 5
    empty = store.put_stream(io.BytesIO(b""), max_bytes=5)
    assert empty.size == 0
    assert store.read_bytes(empty.key) == b""


def test_put_bytes_replaces_and_delete_removes(store: ObjectStore) -> None:
    store.put_bytes("exports/run-1/groups.csv", b"v1")
    store.put_bytes("exports/run-1/groups.csv", b"v2")
    assert store.read_bytes("exports/run-1/groups.csv") == b"v2"

    store.delete("exports/run-1/groups.csv")
    store.delete("exports/run-1/groups.csv")  # deleting a missing object is fine

    assert not store.exists("exports/run-1/groups.csv")
    with pytest.raises(ObjectNotFound):
        store.open("exports/run-1/groups.csv")
    with pytest.raises(ObjectNotFound), store.local_path("exports/run-1/groups.csv"):
        pass


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs/path", "a//b", "uploads/../x", "", "a/./b"])
def test_unsafe_keys_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(ValueError, match="invalid storage key"):
        store.put_bytes(key, b"x")
    with pytest.raises(ValueError, match="invalid storage key"):
        store.exists(key)


def test_unsafe_prefix_is_refused(store: ObjectStore) -> None:
    with pytest.raises(ValueError, match="invalid storage prefix"):
        store.put_stream(io.BytesIO(b"x"), max_bytes=10, prefix="../up")


def test_s3_keys_live_under_the_configured_prefix(moto_endpoint: str, s3_bucket: str) -> None:
    store = S3Store(s3_bucket, prefix="tenant-a/", endpoint_url=moto_endpoint, region="us-east-1")
    obj = store.put_stream(io.BytesIO(b"abc"), max_bytes=10)
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    listing = client.list_objects_v2(Bucket=s3_bucket)
    assert [o["Key"] for o in listing["Contents"]] == [f"tenant-a/{obj.key}"]


def test_s3_multipart_upload_round_trips(
    moto_endpoint: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # S3's smallest part is 5 MiB: a 5 MiB threshold makes an 11 MiB upload use three parts.
    small_parts = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    monkeypatch.setattr("recon.storage.s3._TRANSFER", small_parts)
    store = S3Store(s3_bucket, endpoint_url=moto_endpoint, region="us-east-1")
    data = _payload(11 * 1024 * 1024, seed=3)

    obj = store.put_stream(io.BytesIO(data), max_bytes=len(data))

    head = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").head_object(
        Bucket=s3_bucket, Key=obj.key
    )
    assert head["ETag"].strip('"').endswith("-3")  # a multipart object's ETag counts its parts
    assert store.read_bytes(obj.key) == data
    with store.local_path(obj.key) as path:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == obj.sha256


def test_local_store_concurrent_identical_uploads_store_one_file(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "objects")
    data = _payload(512 * 1024, seed=7)
    results = []

    def upload() -> None:
        results.append(store.put_stream(io.BytesIO(data), max_bytes=len(data)))

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({r.key for r in results}) == 1
    files = [p for p in (tmp_path / "objects").rglob("*") if p.is_file()]
    assert [p.read_bytes() == data for p in files] == [True]
