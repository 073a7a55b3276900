"""Local paths that used to answer 500 (showing the posted SQL password on the debug page) now get a Dutch form
error, in the restore wizard and in Bestaande administratie toevoegen; neither view lets the password into an
error report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.views.debug import SafeExceptionReporterFilter

from administrations.models import Administration
from backups.models import Backup, Job
from backups.services import backup_upload
from tests.backups.helpers import SAMPLES
from tests.pages import errors

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
MDB = "/administraties/bestaande-toevoegen/"
PASSWORD = "Zeer-Geheim-SQL-1"

NO_NAME = "Geef een bestandsnaam op, bijvoorbeeld 2024/bakkerij."
TOO_LONG = "Deze locatie is te lang: hoogstens 200 tekens per map- of bestandsnaam en 400 tekens in totaal."
BAD_PATHS = [
    (".", NO_NAME),
    ("./.", NO_NAME),
    ("./", NO_NAME),
    ("a" * 300, TOO_LONG),
    ("map/" + "b" * 300, TOO_LONG),
    ("/".join(["map"] * 120), TOO_LONG),
]


@pytest.fixture
def owner(client: Client, cast: Any) -> Client:
    client.force_login(cast.owner)
    # Under DEBUG a 500 shows the posted form; these inputs must not get there at all.
    client.raise_request_exception = False
    return client


@pytest.fixture
def ready_backup(cast: Any) -> Backup:
    with (SAMPLES / "pubs.bacpac").open("rb") as source:
        return backup_upload(account=cast.account, user=cast.owner, source=source, file_name="pubs.bacpac")


def nothing_was_made(before: int) -> bool:
    root = Path(settings.LOCAL_ADMINISTRATIONS_ROOT)
    return not Job.objects.exists() and Administration.objects.count() == before and not any(root.iterdir())


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
@pytest.mark.parametrize(("path", "message"), BAD_PATHS, ids=[p[:12] for p, _ in BAD_PATHS])
def test_restoring_to_a_local_path_that_names_no_file_gets_a_form_error(
    owner: Client, ready_backup: Backup, settings: Any, path: str, message: str, headers: dict[str, str]
) -> None:
    settings.DEBUG = True
    before = Administration.objects.count()
    response = owner.post(
        reverse("backups:restore", args=[ready_backup.pk]),
        {"name": "Terug", "location": "local", "local_path": path, "password": PASSWORD},
        headers=headers,
    )
    assert response.status_code == 422
    assert errors(response.content.decode()) == [message]
    assert PASSWORD not in response.content.decode()
    assert nothing_was_made(before)


@pytest.mark.parametrize(("path", "message"), BAD_PATHS, ids=[p[:12] for p, _ in BAD_PATHS])
def test_adding_an_mdb_at_a_local_path_that_names_no_file_gets_a_form_error(
    owner: Client, settings: Any, path: str, message: str
) -> None:
    settings.DEBUG = True
    before = Administration.objects.count()
    upload = SimpleUploadedFile("oud.mdb", b"x" * 100)
    response = owner.post(MDB, {"file": upload, "location": "local", "local_path": path, "password": PASSWORD})
    assert response.status_code == 422
    assert errors(response.content.decode()) == [message]
    assert nothing_was_made(before)


def test_a_good_local_path_still_restores(
    owner: Client, ready_backup: Backup, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(
            reverse("backups:restore", args=[ready_backup.pk]),
            {"name": "Terug", "location": "local", "local_path": "2024/terug"},
        )
    assert response.status_code == 302
    assert (Path(settings.LOCAL_ADMINISTRATIONS_ROOT) / "2024" / "terug.sqlite3").is_file()


def test_the_restore_view_keeps_the_sql_password_out_of_error_reports(owner: Client, ready_backup: Backup) -> None:
    response = owner.post(
        reverse("backups:restore", args=[ready_backup.pk]),
        {"name": "Terug", "location": "network", "login_method": "sql", "login_user": "sa", "password": PASSWORD},
    )
    # What Django's error page and error mails would show of this request's form.
    shown = SafeExceptionReporterFilter().get_post_parameters(response.wsgi_request)
    assert shown["password"] != PASSWORD and shown["login_user"] == "sa"


def test_the_mdb_view_keeps_the_sql_password_out_of_error_reports(owner: Client) -> None:
    upload = SimpleUploadedFile("oud.mdb", b"x" * 100)
    response = owner.post(MDB, {"file": upload, "location": "network", "login_method": "sql", "password": PASSWORD})
    shown = SafeExceptionReporterFilter().get_post_parameters(response.wsgi_request)
    assert shown["password"] != PASSWORD and shown["location"] == "network"
