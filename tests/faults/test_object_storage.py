"""The S3-compatible server (moto in server mode, over real HTTP) stopped in the middle of a multipart upload:
the upload check fails with a Dutch message, no object or unfinished multipart upload is left once the reaper has
run, and with the server back the next upload is kept."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from backups.models import Backup, Job
from backups.services import upload_staging_folder, upload_start
from backups.tasks import reap_jobs
from tests.faults.conftest import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

BUCKET = "faults-test"
PART = 256 * 1024


class S3Server:
    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.server: Any = None

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server._server.server_close()  # refuse connections from now on, as a stopped server does
            self.server = None


@pytest.fixture
def s3(settings, monkeypatch) -> Iterator[S3Server]:
    import moto.s3.models

    # Small parts so that a one-megabyte back-up really goes up in several parts.
    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", PART)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    server = S3Server()
    server.start()
    boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    settings.JOB_STALE_SECONDS = 1
    settings.STORAGES = {
        **settings.STORAGES,
        "backups": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": server.endpoint,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "location": f"run-{uuid.uuid4().hex[:8]}",
                "file_overwrite": False,
                "signature_version": "s3v4",
                "transfer_config": TransferConfig(
                    multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=1
                ),
                "client_config": Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2}),
            },
        },
    }
    try:
        yield server
    finally:
        server.stop()


def objects_and_uploads(server: S3Server, prefix: str) -> tuple[list[str], list[str]]:
    client = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1")
    objects = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]
    uploads = [u["Key"] for u in client.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", [])]
    return objects, uploads


def stop_when_parts_arrive(server: S3Server) -> threading.Thread:
    """Stops the server as soon as a multipart upload has its first part: in the middle of the transfer."""
    from moto.s3.models import s3_backends

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for backend in s3_backends.values():
                for region in backend.values():
                    bucket = region.buckets.get(BUCKET)
                    if bucket and any(m.parts for m in bucket.multiparts.values()):
                        server.stop()
                        return
            time.sleep(0.01)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_the_storage_server_stopped_mid_multipart_upload(
    cast, s3, large_bacpac, django_capture_on_commit_callbacks, settings
) -> None:
    prefix = settings.STORAGES["backups"]["OPTIONS"]["location"]
    assert large_bacpac.stat().st_size > 3 * PART

    def start() -> Job:
        staged = upload_staging_folder() / f"{uuid.uuid4().hex}.bacpac"
        shutil.copyfile(large_bacpac, staged)
        return upload_start(account=cast.account, user=cast.owner, staged=staged, file_name="groot.bacpac")

    watcher = stop_when_parts_arrive(s3)
    with django_capture_on_commit_callbacks(execute=True):
        job = start()
    watcher.join(timeout=5)
    job.refresh_from_db()

    assert job.status == Job.Status.FAILED, job.log
    assert job.user_message == (
        "Het back-upbestand kon niet worden opgeslagen. Er is niets verloren gegaan; probeer het later opnieuw."
    )
    assert not Backup.objects.exists()
    assert list(Path(upload_staging_folder()).iterdir()) == []

    # The server is back; what the stopped transfer left (a temporary object, an unfinished multipart upload)
    # is removed by the next reaper round.
    s3.start()
    objects, uploads = objects_and_uploads(s3, prefix)
    assert uploads, "the stopped transfer left an unfinished multipart upload on the server"
    time.sleep(settings.JOB_STALE_SECONDS + 0.5)
    reap_jobs()
    assert objects_and_uploads(s3, prefix) == ([], [])

    with django_capture_on_commit_callbacks(execute=True):
        again = start()
    again.refresh_from_db()
    assert again.status == Job.Status.SUCCEEDED, again.log
    backup = Backup.objects.get()
    assert backup.is_ready
    objects, uploads = objects_and_uploads(s3, prefix)
    assert uploads == [] and objects == [f"{prefix}/{backup.file_name}"]
