"""The S3-compatible server stopped in the middle of a transfer: moto in server mode as a process of its own, reached
through a relay on localhost that is the portal's endpoint.

The relay is the test's pause point: it forwards both ways until the transfer is visibly under way (a number of
bytes has passed), holds the rest, and the server is stopped right there (SIGSTOP of the process, and every
connection dropped with new ones refused, as a server that goes away does). Its objects survive the stop, so when
the server comes back (SIGCONT) the test sees what the stopped transfer left.

- Mid multipart upload: the upload check fails with a Dutch message, the unfinished multipart upload the transfer
  left is aborted by the next reaper rounds, and the next upload is kept.
- Mid download of a restore: the restore fails with a Dutch message, makes no administration and leaves no file,
  the stored back-up is unchanged, and the next restore succeeds.
- Mid download by a customer (a presigned link): what arrives is short of the announced length, so a browser marks
  the download failed; never a truncated file that looks complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from django.urls import reverse

from administrations.models import Administration
from administrations.services import Target
from backups import storage
from backups.models import Backup, Job
from backups.restores import restore_start
from backups.services import upload_staging_folder, upload_start
from backups.tasks import reap_jobs
from tests.faults.conftest import NOTHING_LEFT, free_port, leftovers, wait_for

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

BUCKET = "faults-test"
PART = 256 * 1024
REPOSITORY = Path(__file__).resolve().parents[2]


class Relay:
    """A TCP relay on localhost in front of the S3 server. `hold_after(direction, n)` lets n more bytes pass that
    way ("up": to the server, "down": to the portal) and then holds the rest unread; `hold_at(direction, pattern)`
    holds from the first bytes that match (a request line); `cut()` drops every connection and refuses new ones;
    `open()` listens again on the same port."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.lock = threading.Lock()
        self.budget: dict[str, int | None] = {"up": None, "down": None}
        self.pattern: dict[str, re.Pattern[bytes] | None] = {"up": None, "down": None}
        self.held = threading.Event()
        self.cutting = threading.Event()
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.open()

    def open(self) -> None:
        self.budget = {"up": None, "down": None}
        self.pattern = {"up": None, "down": None}
        self.held.clear()
        self.cutting.clear()
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def hold_after(self, direction: str, n: int) -> None:
        with self.lock:
            self.budget[direction] = n

    def hold_at(self, direction: str, pattern: bytes) -> None:
        # A request starts a send of its own (the client waits for the answer to the one before), so its request
        # line is at the start of what one receive returns.
        with self.lock:
            self.pattern[direction] = re.compile(pattern)

    def cut(self) -> None:
        self.cutting.set()
        if self.listener is not None:
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread, so the port is free again
            self.listener.close()
            self.listener = None
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                portal, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:
                portal.close()
                continue
            with self.lock:
                self.sockets += [portal, server]
            threading.Thread(target=self._pump, args=(portal, server, "up"), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, portal, "down"), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, direction: str) -> None:
        while True:
            try:
                data = source.recv(64 * 1024)
            except OSError:
                return
            if not data:
                with contextlib.suppress(OSError):
                    target.shutdown(socket.SHUT_WR)
                return
            with self.lock:
                budget, pattern = self.budget[direction], self.pattern[direction]
                found = pattern.search(data) if pattern is not None else None
                passing = data if found is None else data[: found.start()]
                if budget is not None:
                    passing = passing[:budget]
                    self.budget[direction] = budget - len(passing)
            try:
                target.sendall(passing)
            except OSError:
                return
            if len(passing) < len(data):
                self.held.set()
                self.cutting.wait(timeout=60)  # what was held is never delivered
                return


class S3Server:
    """moto's S3 server as a process of its own, with the relay in front of it as the endpoint the portal uses."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.log = folder / "moto.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            cwd=REPOSITORY,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )

        def answers() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False

        wait_for(answers, timeout=30, what="the moto server to listen", every=0.1)
        self.direct = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{self.port}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.direct.create_bucket(Bucket=BUCKET)
        self.relay: Relay | None = None

    @property
    def endpoint(self) -> str:
        assert self.relay is not None
        return f"http://127.0.0.1:{self.relay.port}"

    def stop(self) -> None:
        """The server stops in the middle of whatever it was doing."""
        assert self.relay is not None
        os.kill(self.process.pid, signal.SIGSTOP)
        self.relay.cut()

    def start_again(self) -> None:
        assert self.relay is not None
        os.kill(self.process.pid, signal.SIGCONT)
        self.relay.open()

    def stop_when_held(self) -> threading.Thread:
        """Stop the server as soon as the relay holds what was sent after its budget: in the middle of the transfer."""
        assert self.relay is not None
        relay = self.relay

        def watch() -> None:
            if relay.held.wait(timeout=60):
                self.stop()

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        return thread

    def objects_and_uploads(self, prefix: str) -> tuple[list[str], list[str]]:
        listed = self.direct.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
        uploads = self.direct.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", [])
        return [o["Key"] for o in listed], [u["Key"] for u in uploads]

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGCONT)
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = S3Server(tmp_path_factory.mktemp("moto"))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def s3(s3_server: S3Server, settings: Any) -> Iterator[S3Server]:
    """Back-up storage on the S3 server, through a relay of this test's own, under a prefix of its own."""
    s3_server.relay = Relay(s3_server.port)
    settings.JOB_STALE_SECONDS = 1
    settings.STORAGES = {
        **settings.STORAGES,
        "backups": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_server.endpoint,
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
        yield s3_server
    finally:
        s3_server.relay.cut()
        with contextlib.suppress(ProcessLookupError):
            os.kill(s3_server.process.pid, signal.SIGCONT)
        s3_server.relay = None


def run_with_commit(django_capture_on_commit_callbacks: Any, start: Any) -> Job:
    with django_capture_on_commit_callbacks(execute=True):
        job = start()
    job.refresh_from_db()
    return job


def stored_backup(cast: Any, bacpac: Path) -> Backup:
    """A ready back-up of `bacpac` in S3, stored the way the portal stores every back-up."""
    with bacpac.open("rb") as source:
        stored = storage.store(source, name=storage.final_name(cast.account.pk))
    return Backup.objects.create(
        account=cast.account,
        administration_name="Groot",
        origin=Backup.Origin.MANUAL,
        status=Backup.Status.READY,
        file_name=stored.name,
        size=stored.size,
        sha256=stored.sha256,
        created_by=cast.owner,
    )


def test_the_storage_server_stopped_mid_multipart_upload(
    cast, s3, large_bacpac, django_capture_on_commit_callbacks, settings
) -> None:
    prefix = settings.STORAGES["backups"]["OPTIONS"]["location"]
    # Above the multipart threshold: the back-up goes up as a multipart upload (one part: boto3's parts are at
    # least 5 MB).
    assert large_bacpac.stat().st_size > PART

    def start() -> Job:
        staged = upload_staging_folder() / f"{uuid.uuid4().hex}.bacpac"
        shutil.copyfile(large_bacpac, staged)
        return upload_start(account=cast.account, user=cast.owner, staged=staged, file_name="groot.bacpac")

    # The upload is begun and its part sent; the request that would complete it is held.
    s3.relay.hold_at("up", rb"POST [^ ]*\?uploadId=")
    watcher = s3.stop_when_held()
    job = run_with_commit(django_capture_on_commit_callbacks, start)
    watcher.join(timeout=10)

    assert s3.relay.held.is_set(), "the upload went through before the server was stopped"
    assert job.status == Job.Status.FAILED, job.log
    assert job.user_message == (
        "Het back-upbestand kon niet worden opgeslagen. Er is niets verloren gegaan; probeer het later opnieuw."
    )
    assert not Backup.objects.exists()
    assert leftovers(settings) == NOTHING_LEFT

    # The server is back; what the stopped transfer left on it (an unfinished multipart upload of the temporary
    # object, holding the whole file as its part) is aborted by the reaper.
    s3.start_again()
    objects, uploads = s3.objects_and_uploads(prefix)
    assert objects == [] and len(uploads) == 1, (objects, uploads)
    [upload_id] = [u["UploadId"] for u in s3.direct.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix)["Uploads"]]
    parts = s3.direct.list_parts(Bucket=BUCKET, Key=uploads[0], UploadId=upload_id).get("Parts", [])
    assert sum(p["Size"] for p in parts) == large_bacpac.stat().st_size, "the server had the data when it stopped"

    def reaped() -> bool:
        reap_jobs()
        return s3.objects_and_uploads(prefix) == ([], [])

    wait_for(reaped, timeout=30, what="the reaper to abort the unfinished multipart upload", every=0.25)

    again = run_with_commit(django_capture_on_commit_callbacks, start)
    assert again.status == Job.Status.SUCCEEDED, again.log
    backup = Backup.objects.get()
    assert backup.is_ready
    assert s3.objects_and_uploads(prefix) == ([f"{prefix}/{backup.file_name}"], [])


def test_the_storage_server_stopped_mid_download_of_a_restore(
    cast, s3, large_bacpac, django_capture_on_commit_callbacks, settings
) -> None:
    backup = stored_backup(cast, large_bacpac)
    size = large_bacpac.stat().st_size
    assert backup.size == size
    online = Path(settings.ONLINE_ADMINISTRATIONS_DIR)

    def restore() -> Job:
        return restore_start(
            user=cast.owner,
            account=cast.account,
            backup=backup,
            name="Teruggezet",
            target=Target("online"),
            cost_confirmed=True,
        )

    # Half of the back-up comes down, then the server stops.
    s3.relay.hold_after("down", size // 2)
    watcher = s3.stop_when_held()
    job = run_with_commit(django_capture_on_commit_callbacks, restore)
    watcher.join(timeout=10)

    assert s3.relay.held.is_set(), "the download went through before the server was stopped"
    assert job.status == Job.Status.FAILED, job.log
    assert job.user_message == (
        "Het back-upbestand kon niet uit de opslag worden gelezen. Er is niets gewijzigd; probeer het later opnieuw."
    )
    assert not Administration.objects.filter(name="Teruggezet").exists()
    assert not online.exists() or list(online.iterdir()) == [], "no database was made"
    assert leftovers(settings) == NOTHING_LEFT

    # The server is back: the back-up is as it was stored, and the next restore of it succeeds.
    s3.start_again()
    assert storage.sha256_of(backup.file_name) == (backup.sha256, backup.size)
    again = run_with_commit(django_capture_on_commit_callbacks, restore)
    assert again.status == Job.Status.SUCCEEDED, again.log
    assert Administration.objects.filter(name="Teruggezet").count() == 1
    assert leftovers(settings) == NOTHING_LEFT


def test_a_download_cut_off_by_the_storage_server_never_arrives_looking_complete(
    client, cast, s3, large_bacpac, settings
) -> None:
    backup = stored_backup(cast, large_bacpac)
    size = large_bacpac.stat().st_size
    assert backup.size == size
    client.force_login(cast.owner)
    answer = client.get(reverse("backups:download", args=[backup.pk]))
    assert answer.status_code == 302
    link = urllib.parse.urlsplit(answer["Location"])  # a presigned link to the object, at the storage endpoint
    assert f"{link.hostname}:{link.port}" == s3.endpoint.removeprefix("http://")

    def fetch() -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(link.hostname or "", link.port, timeout=10)
        try:
            connection.request("GET", f"{link.path}?{link.query}")
            response = connection.getresponse()
            assert response.status == 200, response.status
            return int(response.headers["Content-Length"]), response.read()
        finally:
            connection.close()

    s3.relay.hold_after("down", size // 2)
    watcher = s3.stop_when_held()
    with pytest.raises(http.client.IncompleteRead) as cut_off:
        fetch()
    watcher.join(timeout=10)
    # The browser was told the whole length and got less: it marks the download failed.
    assert 0 < len(cut_off.value.partial) < size
    assert cut_off.value.expected == size - len(cut_off.value.partial)

    s3.start_again()
    length, body = fetch()
    assert length == size and hashlib.sha256(body).hexdigest() == backup.sha256
