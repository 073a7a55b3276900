"""Uploads that try to fill the disk or break the form: refused in Dutch, in the form, with nothing left behind.

The .bacpac upload (Uploaden) and the .mdb upload (Bestaande administratie toevoegen) go through the same handler;
both are attacked here through the real views, with Django's test client and with real HTTP requests to a live
server while the upload folder is measured."""

from __future__ import annotations

import http.client
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from backups.models import Backup, Job
from portal.models import AuditEvent
from tests.backups.helpers import SAMPLES
from tests.conftest import require_service
from tests.pages import errors, main_text

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
UPLOAD = "/back-ups/uploaden/"
MDB = "/administraties/bestaande-toevoegen/"
MB = 1024 * 1024


@pytest.fixture
def incoming(settings: Any, tmp_path: Path) -> Path:
    """Django's temporary upload folder, the one a too-large post used to fill."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    return folder


@pytest.fixture
def owner(client: Client, cast: Any) -> Client:
    client.force_login(cast.owner)
    return client


def bytes_in(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except FileNotFoundError:
            pass
    return total


def nothing_was_kept(folder: Path) -> bool:
    return bytes_in(folder) == 0 and not Job.objects.exists() and not Backup.objects.exists()


# --- the size limit, through the test client -----------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_a_bacpac_post_larger_than_the_limit_is_refused_with_the_size_as_a_size(
    owner: Client, settings: Any, incoming: Path, headers: dict[str, str]
) -> None:
    settings.BACKUP_UPLOAD_MAX_BYTES = MB
    big = SimpleUploadedFile("groot.bacpac", os.urandom(5 * MB))
    response = owner.post(UPLOAD, {"file": big}, headers=headers)
    assert response.status_code == 422
    assert errors(response.content.decode()) == ["Dit bestand is groter dan de toegestane 1 MB."]
    assert nothing_was_kept(incoming)


def test_a_file_just_over_the_limit_is_stopped_while_it_streams(owner: Client, settings: Any, incoming: Path) -> None:
    # Content-Length is within the limit plus room for the form: only counting the file itself can catch this one.
    settings.BACKUP_UPLOAD_MAX_BYTES = MB
    response = owner.post(UPLOAD, {"file": SimpleUploadedFile("net-te-groot.bacpac", os.urandom(MB + 10_000))})
    assert response.status_code == 422
    assert errors(response.content.decode()) == ["Dit bestand is groter dan de toegestane 1 MB."]
    assert nothing_was_kept(incoming)


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_an_mdb_post_larger_than_the_limit_is_refused_in_the_form(
    owner: Client, settings: Any, incoming: Path, headers: dict[str, str]
) -> None:
    settings.MDB_UPLOAD_MAX_BYTES = 2 * MB
    big = SimpleUploadedFile("groot.mdb", os.urandom(3 * MB))
    response = owner.post(MDB, {"name": "Oud archief", "location": "local", "file": big}, headers=headers)
    assert response.status_code == 422
    body = response.content.decode()
    assert errors(body) == ["Dit bestand is groter dan de toegestane 2 MB."]
    # The whole page without htmx, the form alone for htmx to swap in.
    assert ("<html" in body) is not bool(headers)
    assert "Toevoegen als nieuwe administratie" in main_text(body)
    assert nothing_was_kept(incoming)


def test_an_upload_within_the_limit_still_works(
    owner: Client, settings: Any, incoming: Path, django_capture_on_commit_callbacks: Any
) -> None:
    settings.BACKUP_UPLOAD_MAX_BYTES = MB
    sample = SimpleUploadedFile("pubs.bacpac", (SAMPLES / "pubs.bacpac").read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(UPLOAD, {"file": sample})
    assert response.status_code == 302
    assert Backup.objects.get().original_file_name == "pubs.bacpac"
    assert bytes_in(incoming) == 0


# --- the size limit, over real HTTP while the upload folder is watched ---------------------------------------------


class FolderWatch:
    """Measures the largest number of bytes in a folder, every few milliseconds, while a request runs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.largest = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.largest = max(self.largest, bytes_in(self.folder))
            time.sleep(0.005)

    def __enter__(self) -> FolderWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.largest = max(self.largest, bytes_in(self.folder))


def multipart_head(boundary: str, file_name: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


def send_streamed(
    live_server: Any, session: str, *, size: int, chunked: bool = False, path: str = UPLOAD
) -> tuple[int, str]:
    """POST a multipart body of `size` file bytes, streamed in 1 MB pieces, the way a browser or a script would."""
    boundary = uuid.uuid4().hex
    token = uuid.uuid4().hex  # any well-formed value, sent as cookie and header alike
    head = multipart_head(boundary, "groot.bacpac")
    tail = f"\r\n--{boundary}--\r\n".encode()
    host, port = live_server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    connection.putrequest("POST", path)
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Cookie", f"sessionid={session}; csrftoken={token}")
    connection.putheader("X-CSRFToken", token)
    connection.putheader("HX-Request", "true")
    connection.putheader("Referer", live_server.url + path)
    if chunked:
        connection.putheader("Transfer-Encoding", "chunked")
    else:
        connection.putheader("Content-Length", str(len(head) + size + len(tail)))
    connection.endheaders()
    piece = os.urandom(MB)

    def send(data: bytes) -> None:
        connection.send(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)

    try:
        send(head)
        for _ in range(size // MB):
            send(piece)
        send(tail)
        if chunked:
            connection.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed early: read its answer
    response = connection.getresponse()
    body = response.read().decode()
    connection.close()
    return response.status, body


@pytest.fixture
def session(client: Client, cast: Any) -> str:
    client.force_login(cast.owner)
    return client.cookies["sessionid"].value


@pytest.mark.django_db(transaction=True)
def test_a_64_mb_stream_with_a_1_mb_limit_writes_nothing_to_the_upload_folder(
    live_server: Any, session: str, settings: Any, incoming: Path
) -> None:
    settings.BACKUP_UPLOAD_MAX_BYTES = MB
    with FolderWatch(incoming) as watch:
        status, body = send_streamed(live_server, session, size=64 * MB)
    assert status == 422
    assert errors(body) == ["Dit bestand is groter dan de toegestane 1 MB."]
    assert watch.largest == 0
    assert not Job.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_chunked_stream_without_a_length_is_not_written_either(
    live_server: Any, session: str, settings: Any, incoming: Path
) -> None:
    settings.BACKUP_UPLOAD_MAX_BYTES = MB
    with FolderWatch(incoming) as watch:
        status, body = send_streamed(live_server, session, size=16 * MB, chunked=True)
    assert status == 422
    assert errors(body) == ["Het bestand kon niet worden ontvangen. Probeer het opnieuw."]
    assert watch.largest == 0
    assert not Job.objects.exists()


# --- a nearly full disk ---------------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path, settings: Any) -> Iterator[Path]:
    """A real 2 MB filesystem (tmpfs) as the upload folder."""
    folder = tmp_path / "klein"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)], capture_output=True, text=True
    )
    require_service(mounted.returncode == 0, f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_an_upload_that_would_fill_the_disk_is_refused(
    owner: Client, settings: Any, small_disk: Path, django_capture_on_commit_callbacks: Any
) -> None:
    settings.MIN_FREE_DISK_BYTES = MB  # 2 MB disk: at most about 1 MB may come in
    response = owner.post(UPLOAD, {"file": SimpleUploadedFile("past-niet.bacpac", os.urandom(3 * MB // 2))})
    assert response.status_code == 422
    assert errors(response.content.decode()) == [
        "Er is nu niet genoeg schijfruimte om dit bestand te ontvangen. Probeer het later opnieuw of neem contact "
        "op met de klantenservice."
    ]
    assert nothing_was_kept(small_disk)
    # A file that leaves enough room still comes in on the same disk.
    with django_capture_on_commit_callbacks(execute=True):
        accepted = owner.post(
            UPLOAD, {"file": SimpleUploadedFile("pubs.bacpac", (SAMPLES / "pubs.bacpac").read_bytes())}
        )
    assert accepted.status_code == 302 and Backup.objects.get().is_ready


def test_an_mdb_upload_on_a_nearly_full_disk_is_refused(owner: Client, settings: Any, small_disk: Path) -> None:
    # The default reserve is far more than this whole disk.
    response = owner.post(MDB, {"location": "online", "file": SimpleUploadedFile("klein.mdb", b"x" * 1000)})
    assert response.status_code == 422
    assert "niet genoeg schijfruimte" in " ".join(errors(response.content.decode()))
    assert nothing_was_kept(small_disk)


# --- file names ---------------------------------------------------------------------------------------------------


NAME_TOO_LONG = "De bestandsnaam is te lang (hoogstens 255 tekens). Geef het bestand een kortere naam."


def post_file_named(client: Client, url: str, file_name: str, content: bytes, headers: Any = None, **fields: str):
    """A multipart POST built by hand: Django's own upload classes cut a name to 255 characters before sending."""
    boundary = uuid.uuid4().hex
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    )
    body += multipart_head(boundary, file_name) + content + f"\r\n--{boundary}--\r\n".encode()
    return client.post(url, body, content_type=f"multipart/form-data; boundary={boundary}", headers=headers or {})


@pytest.mark.parametrize("length", [300, 1000], ids=["300", "1000"])
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_a_very_long_bacpac_file_name_gets_a_dutch_message(
    owner: Client, incoming: Path, length: int, headers: dict[str, str]
) -> None:
    name = "a" * (length - len(".bacpac")) + ".bacpac"
    response = post_file_named(owner, UPLOAD, name, (SAMPLES / "pubs.bacpac").read_bytes(), headers=headers)
    assert response.status_code == 422
    assert errors(response.content.decode()) == [NAME_TOO_LONG]
    assert nothing_was_kept(incoming)
    assert not AuditEvent.objects.exists()


def test_a_long_extension_does_not_break_the_temporary_file(owner: Client, incoming: Path) -> None:
    response = post_file_named(owner, UPLOAD, "a." + "b" * 250, b"PK" * 100)
    assert response.status_code == 422
    assert errors(response.content.decode()) == ["Kies een .bacpac-bestand."]
    assert nothing_was_kept(incoming)


@pytest.mark.parametrize("length", [300, 1000], ids=["300", "1000"])
def test_a_very_long_mdb_file_name_gets_a_dutch_message(owner: Client, incoming: Path, length: int) -> None:
    name = "a" * (length - len(".mdb")) + ".mdb"
    response = post_file_named(owner, MDB, name, b"x" * 100, location="online", confirm_cost="on")
    assert response.status_code == 422
    assert errors(response.content.decode()) == [NAME_TOO_LONG]
    assert nothing_was_kept(incoming)


# --- the audit trail ----------------------------------------------------------------------------------------------


def test_a_refused_upload_is_not_logged_as_uploaded(
    owner: Client, incoming: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(UPLOAD, {"file": SimpleUploadedFile("nep.bacpac", b"dit is geen bacpac" * 100)})
    job = Job.objects.get()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.BACKUP_UPLOADED).exists()


def test_a_kept_upload_is_logged_once_with_who_and_where(
    owner: Client, cast: Any, incoming: Path, django_capture_on_commit_callbacks: Any
) -> None:
    sample = SimpleUploadedFile("pubs.bacpac", (SAMPLES / "pubs.bacpac").read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(UPLOAD, {"file": sample}, REMOTE_ADDR="192.0.2.7")
    event = AuditEvent.objects.get(action=AuditEvent.Action.BACKUP_UPLOADED)
    assert (event.actor, event.ip_address, event.account, event.target) == (
        cast.owner,
        "192.0.2.7",
        cast.account,
        "pubs.bacpac",
    )
