"""Back-up storage on the filesystem and on an S3-compatible server over real HTTP (moto in server mode)."""

from __future__ import annotations

import hashlib
import io
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from django.core.files.storage import storages

from backups import storage
from backups.storage import StorageError

BUCKET = "backups-test"


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(params=["filesystem", "s3"])
def backend(request: pytest.FixtureRequest, settings) -> str:
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_server")
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        if BUCKET not in existing:
            client.create_bucket(Bucket=BUCKET)
        from boto3.s3.transfer import TransferConfig

        settings.STORAGES = {
            **settings.STORAGES,
            "backups": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": BUCKET,
                    "endpoint_url": endpoint,
                    "region_name": "us-east-1",
                    "access_key": "testing",
                    "secret_key": "testing",
                    "location": f"run-{os.getpid()}-{id(request)}",
                    "file_overwrite": False,
                    "querystring_expire": 60,
                    "signature_version": "s3v4",
                    # Small parts so that a 12 MB file really goes up (and is copied) in several parts.
                    "transfer_config": TransferConfig(multipart_threshold=5 * 1024**2, multipart_chunksize=5 * 1024**2),
                },
            },
        }
    return request.param


def payload(size: int) -> bytes:
    return hashlib.sha256(b"seed").digest() * (size // 32) + b"x" * (size % 32)


def test_a_stored_file_is_published_with_its_size_and_hash(backend) -> None:
    data = payload(12 * 1024**2 + 123)  # above the multipart threshold on S3
    stored = storage.store(io.BytesIO(data), name="account-1/a.bacpac")

    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert storage.size_of("account-1/a.bacpac") == len(data)
    assert storage.sha256_of("account-1/a.bacpac") == (stored.sha256, len(data))
    assert storage.temporary_names() == []
    if backend == "s3":
        # A multipart object's ETag ends in "-<number of parts>": the file really went up in parts.
        backup_storage = storages["backups"]
        key = backup_storage._normalize_name("account-1/a.bacpac")  # type: ignore[attr-defined]
        assert "-" in backup_storage.bucket.Object(key).e_tag  # type: ignore[attr-defined]


def test_an_existing_file_is_never_overwritten(backend) -> None:
    storage.store(io.BytesIO(b"first"), name="account-1/same.bacpac")
    with pytest.raises(StorageError):
        storage.store(io.BytesIO(b"second"), name="account-1/same.bacpac")
    assert b"".join(storage.iter_chunks("account-1/same.bacpac")) == b"first"
    assert storage.temporary_names() == []


def test_deleting_removes_the_file(backend) -> None:
    storage.store(io.BytesIO(b"data"), name="account-1/gone.bacpac")
    storage.delete("account-1/gone.bacpac")
    assert not storages["backups"].exists("account-1/gone.bacpac")


def test_a_download_is_a_short_lived_presigned_url_on_s3_and_a_stream_on_the_filesystem(backend) -> None:
    data = payload(1000)
    storage.store(io.BytesIO(data), name="account-1/d.bacpac")
    url = storage.download_url("account-1/d.bacpac", download_name="Bakkerij.bacpac")
    if backend == "filesystem":
        assert url is None
        return
    assert url is not None and "X-Amz-Expires=60" in url and "X-Amz-Signature=" in url
    with urllib.request.urlopen(url) as response:  # noqa: S310 - our own local test server
        assert response.read() == data
        assert 'filename="Bakkerij.bacpac"' in response.headers["Content-Disposition"]


def test_a_failed_write_leaves_no_temporary_file(backend, settings) -> None:
    class Broken(io.RawIOBase):
        def __init__(self) -> None:
            self.sent = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            self.sent += 1
            if self.sent > 3:
                raise OSError("connection reset by peer")
            return b"y" * 65536

    with pytest.raises(StorageError) as failure:
        storage.store(Broken(), name="account-1/broken.bacpac")  # type: ignore[arg-type]
    assert "niets verloren" in failure.value.user_message
    assert storage.temporary_names() == []
    assert not storages["backups"].exists("account-1/broken.bacpac")


def test_stale_temporary_files_are_removed_and_fresh_ones_kept(settings) -> None:
    backup_storage = storages["backups"]
    old = backup_storage.save("tmp/old.part", io.BytesIO(b"old"))
    fresh = backup_storage.save("tmp/fresh.part", io.BytesIO(b"fresh"))
    os.utime(backup_storage.path(old), (1_000_000_000, 1_000_000_000))
    assert storage.delete_stale_temporary_files() == [old]
    assert Path(backup_storage.path(fresh)).exists()
