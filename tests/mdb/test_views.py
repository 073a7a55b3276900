"""The screen "Bestaande administratie toevoegen" through Django's test client: happy path, wrong method, who may
use it, HTMX and plain requests, refusals with their message."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from administrations.models import Administration
from backups.models import Job
from backups.restores import mdb_staging_folder
from tests.helpers import element, main_text, text_of
from tests.mdb.helpers import NWIND, require_mdbtools

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
URL = "/administraties/bestaande-toevoegen/"


@pytest.fixture(autouse=True)
def _mdbtools() -> None:
    require_mdbtools()


@pytest.fixture
def owner(client, cast):
    client.force_login(cast.owner)
    return client


def nwind_upload(name: str = "Northwind.mdb") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, NWIND.read_bytes(), content_type="application/x-msaccess")


def test_the_url_is_the_named_screen() -> None:
    assert reverse("administrations:mdb_import") == URL


def test_the_administrations_list_offers_the_screen_to_a_main_user_only(owner, client, cast) -> None:
    assert "Bestaande administratie toevoegen" in main_text(owner.get("/administraties/"))
    client.force_login(cast.extra_user)
    assert "Bestaande administratie toevoegen" not in client.get("/administraties/").content.decode()
    refused = client.get(URL)
    assert refused.status_code == 403
    assert "Alleen de hoofdgebruiker en beheerders van het account kunnen back-ups terugzetten" in main_text(refused)


def test_the_form_shows_file_target_and_cost(owner) -> None:
    response = owner.get(URL)
    assert element(response, "main input[type=file]")["accept"] == ".mdb"
    page = main_text(response)
    assert "Waar komt de administratie?" in page and "+€3.00 per maand" in page.replace(",", ".")


def test_r14_uploading_nwind_makes_a_new_administration_and_the_job_page_links_to_it(
    owner, cast, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(URL, {"file": nwind_upload(), "location": "online", "confirm_cost": "on"})
    job = Job.objects.get(kind=Job.Kind.IMPORT_MDB)
    assert response.status_code == 302 and response.url == reverse("backups:job", args=[job.pk])
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.log
    administration = Administration.objects.get(name="Northwind")  # the file's name when none was given
    page = owner.get(response.url)
    assert "toegevoegd als nieuwe administratie Northwind" in main_text(page)
    assert "Northwind" in [strong.get_text() for strong in element(page).select("strong")]
    assert element(page).find("a", string="Naar de nieuwe administratie")["href"] == reverse(
        "administrations:detail", args=[administration.pk]
    )
    assert list(mdb_staging_folder().iterdir()) == []


def test_an_htmx_upload_answers_with_a_client_redirect(owner, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(
            URL,
            {"file": nwind_upload(), "name": "Oude boeken", "location": "online", "confirm_cost": "on"},
            headers=HTMX,
        )
    job = Job.objects.get()
    assert response["HX-Redirect"] == reverse("backups:job", args=[job.pk])
    assert Administration.objects.filter(name="Oude boeken").exists()


def test_an_htmx_refusal_swaps_the_form_back_with_the_message(owner) -> None:
    bad = SimpleUploadedFile("kapot.mdb", b"%PDF-1.4 dit is een pdf" * 100)
    response = owner.post(URL, {"file": bad, "location": "online", "confirm_cost": "on"}, headers=HTMX)
    assert response.status_code == 422
    assert response.content.decode().lstrip().startswith("<form")
    assert "Dit is geen Access-administratiebestand" in text_of(response, "form")
    assert not Job.objects.exists() and list(mdb_staging_folder().iterdir()) == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nieuw.accdb", "Dit is een .accdb-bestand (Access 2007 of nieuwer)"),
        ("oud.ssb", "Een .ssb-bestand is een back-up van SnelStart 11 of ouder"),
        ("boeken.xlsx", "Kies een .mdb-bestand."),
    ],
)
def test_other_kinds_of_file_are_refused_by_name(owner, name: str, message: str) -> None:
    upload = SimpleUploadedFile(name, b"x" * 100)
    response = owner.post(URL, {"file": upload, "location": "online", "confirm_cost": "on"})
    assert response.status_code == 422 and message in main_text(response)
    assert not Job.objects.exists()


def test_a_file_above_the_size_limit_is_refused(owner, settings) -> None:
    settings.MDB_UPLOAD_MAX_BYTES = 1024
    response = owner.post(URL, {"file": nwind_upload(), "location": "online", "confirm_cost": "on"})
    assert response.status_code == 422 and "groter dan de toegestane" in main_text(response)


def test_r17_without_confirming_the_cost_nothing_starts(owner) -> None:
    response = owner.post(URL, {"file": nwind_upload(), "location": "online"})
    assert response.status_code == 422 and "Bevestig de extra kosten" in main_text(response)
    assert not Job.objects.exists()


def test_an_existing_name_is_refused(owner) -> None:
    response = owner.post(
        URL, {"file": nwind_upload(), "name": "Bakkerij Test", "location": "online", "confirm_cost": "on"}
    )
    assert response.status_code == 422 and "Er bestaat al een administratie" in main_text(response)


def test_the_wrong_method_is_refused(owner) -> None:
    assert owner.put(URL).status_code == 405


def test_anonymous_users_are_sent_to_log_in(client) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and "inloggen" in response.url


def test_r14_the_backup_upload_refusal_links_to_this_screen(owner) -> None:
    upload = SimpleUploadedFile("oud.ssb", b"SnelStart 11" * 10)
    response = owner.post(reverse("backups:upload"), {"file": upload}, headers=HTMX)
    assert response.status_code == 422
    link = element(response, "form [role=alert] a")
    assert link["href"] == URL and link.get_text() == "Bestaande administratie toevoegen"
