"""The back-up screens through Django's test client: happy path, wrong method, 404 for others, HTMX and plain
requests, each refusal with its message. Jobs run in-process when their transaction commits."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from administrations import bookkeeping
from administrations.models import Administration, Bank, BankConnection, Location, Package
from administrations.services import Target, administration_create
from backups import storage
from backups.models import Backup, Job
from backups.services import backup_upload
from tests.backups.helpers import SAMPLES, table_checksums
from tests.helpers import element, main_text, text_of

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def online(cast) -> Administration:
    return administration_create(
        account=cast.account,
        name="Bakkerij Online",
        target=Target(Location.ONLINE),
        populate=lambda engine: bookkeeping.fill(engine, lines=120),
    )


@pytest.fixture
def owner(client, cast):
    client.force_login(cast.owner)
    return client


@pytest.fixture
def ready_backup(cast) -> Backup:
    with (SAMPLES / "pubs.bacpac").open("rb") as source:
        return backup_upload(account=cast.account, user=cast.owner, source=source, file_name="pubs.bacpac")


def sample_upload(name: str = "pubs.bacpac", sample: str = "pubs.bacpac") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (SAMPLES / sample).read_bytes(), content_type="application/octet-stream")


# --- Back-up maken (R4, R6, R7, R10) ---


def test_r7_back_up_maken_of_an_online_administration_lands_in_the_overview(
    owner, online, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(reverse("backups:create", args=[online.pk]))
    assert response.status_code == 302 and response.url == reverse("backups:list")
    body = main_text(owner.get(reverse("backups:list")))
    assert "Bakkerij Online" in body and "Klaar" in body and "Handmatig" in body
    assert Backup.objects.get().is_ready


def test_r7_a_back_up_that_is_still_being_made_polls_its_row(owner, online) -> None:
    owner.post(reverse("backups:create", args=[online.pk]))  # not committed: the job stays queued
    backup = Backup.objects.get()
    overview = owner.get(reverse("backups:list"))
    row_element = element(overview, f"main #backup-{backup.pk}")
    assert row_element["hx-get"] == reverse("backups:row", args=[backup.pk])
    assert "Wordt gemaakt… 0%" in text_of(overview, f"#backup-{backup.pk}")
    row = owner.get(reverse("backups:row", args=[backup.pk]), headers=HTMX)
    assert row.status_code == 200 and row.content.decode().lstrip().startswith("<tr")


def test_r10_a_local_back_up_shows_klaar_with_a_link_that_downloads_once(
    owner, cast, django_capture_on_commit_callbacks
) -> None:
    local = administration_create(account=cast.account, name="Lokaal", target=Target(Location.LOCAL, local_path="l"))
    response = owner.post(reverse("backups:create", args=[local.pk]))
    job = Job.objects.get()
    assert response.url == reverse("backups:job", args=[job.pk])
    assert text_of(owner.get(response.url), "main .subject") == "Lokaal"  # which administration, under the heading
    queued = owner.get(reverse("backups:job", args=[job.pk]) + "?auto=1", headers=HTMX)
    assert "In de wachtrij sinds" in main_text(queued) and element(queued, "section.job")["hx-trigger"] == "every 2s"
    from backups.tasks import run_job

    run_job(job.pk)
    poll = owner.get(reverse("backups:job", args=[job.pk]) + "?auto=1", headers=HTMX)
    # The fragment itself is swapped in (no HX-Redirect, which left the page polling and downloading for ever).
    assert "HX-Redirect" not in poll and poll.status_code == 200
    fragment = element(poll, "section.job")
    assert "hx-trigger" not in str(fragment)
    assert "Klaar" in text_of(poll, "section.job")
    link = fragment.select_one("a[data-auto-download]")
    assert link["href"] == reverse("backups:download", args=[job.backup_id])
    assert owner.get(link["href"]).status_code == 200
    # Once downloaded, a reload or a late poll shows the link without handing the file over again.
    again = owner.get(reverse("backups:job", args=[job.pk]))
    assert not element(again).select("a[data-auto-download]")
    assert "Opnieuw downloaden" in main_text(again)
    assert not owner.get(reverse("backups:list")).context["page"].object_list


def test_r6_an_administration_with_snelstart_bankieren_warns_first(
    owner, online, django_capture_on_commit_callbacks
) -> None:
    BankConnection.objects.create(administration=online, bank=Bank.SNELSTART_BANKIEREN, iban="NL12SNSB0123456789")
    response = owner.post(reverse("backups:create", args=[online.pk]))
    assert response.status_code == 200
    assert "kan niet verder werken met deze bankrekening" in main_text(response)
    assert not Job.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(reverse("backups:create", args=[online.pk]), {"bankieren_begrepen": "ja"})
    assert response.status_code == 302 and Backup.objects.get().is_ready


def test_r4_inorde_has_no_back_up_button_and_the_url_refuses(owner, cast, online) -> None:
    cast.account.package = Package.INORDE
    cast.account.save()
    body = main_text(owner.get(reverse("administrations:list")))
    assert reverse("backups:create", args=[online.pk]) not in body
    response = owner.post(reverse("backups:create", args=[online.pk]))
    assert response.status_code == 403
    assert "Met het pakket inOrde kun je geen back-ups maken of terugzetten" in main_text(response)
    assert not Job.objects.exists()


def test_back_up_maken_takes_a_post_only(owner, online) -> None:
    assert owner.get(reverse("backups:create", args=[online.pk])).status_code == 405


def test_back_up_maken_of_another_tenants_administration_is_404(client, cast, online) -> None:
    client.force_login(cast.outsider)
    assert client.post(reverse("backups:create", args=[online.pk])).status_code == 404
    assert not Job.objects.exists()


def test_an_htmx_back_up_request_redirects_the_whole_page(owner, online) -> None:
    response = owner.post(reverse("backups:create", args=[online.pk]), headers=HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == reverse("backups:list")


# --- the overview, download, delete (R8) ---


def test_the_overview_shows_only_the_users_own_back_ups(client, cast, ready_backup) -> None:
    client.force_login(cast.outsider)
    assert "pubs" not in main_text(client.get(reverse("backups:list")))
    for name in ("detail", "download", "delete", "restore", "row"):
        assert client.get(reverse(f"backups:{name}", args=[ready_backup.pk])).status_code == 404, name


def test_the_overview_uses_a_constant_number_of_queries(owner, cast, django_assert_max_num_queries) -> None:
    Backup.objects.bulk_create(
        Backup(account=cast.account, administration_name=f"A{i}", origin="upload") for i in range(60)
    )
    with django_assert_max_num_queries(9):
        response = owner.get(reverse("backups:list"))
    assert len(response.context["page"].object_list) == 25
    assert owner.get(reverse("backups:list") + "?pagina=3").context["page"].number == 3


def test_r8_a_download_is_the_exact_file_and_verifies(owner, ready_backup) -> None:
    response = owner.get(reverse("backups:download", args=[ready_backup.pk]))
    content = b"".join(response.streaming_content)
    assert hashlib.sha256(content).hexdigest() == ready_backup.sha256
    assert response["Content-Disposition"].startswith('attachment; filename="pubs-')


def test_a_download_of_a_file_that_changed_in_storage_breaks_off(owner, ready_backup) -> None:
    from django.core.files.storage import storages

    path = Path(storages["backups"].path(ready_backup.file_name))
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))
    response = owner.get(reverse("backups:download", args=[ready_backup.pk]))
    with pytest.raises(OSError, match="does not match"):
        b"".join(response.streaming_content)


def test_a_download_of_an_incomplete_stored_file_is_refused(owner, ready_backup) -> None:
    from django.core.files.storage import storages

    path = Path(storages["backups"].path(ready_backup.file_name))
    path.write_bytes(path.read_bytes()[:100])
    response = owner.get(reverse("backups:download", args=[ready_backup.pk]), follow=True)
    assert "niet compleet" in main_text(response)


def test_r8_deleting_a_back_up_asks_first_and_then_removes_it(
    owner, ready_backup, django_capture_on_commit_callbacks
) -> None:
    confirm = owner.get(reverse("backups:delete", args=[ready_backup.pk]))
    assert "Dit kan niet ongedaan worden gemaakt" in main_text(confirm)
    assert Backup.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(reverse("backups:delete", args=[ready_backup.pk]), follow=True)
    assert "is verwijderd" in main_text(response)
    assert not Backup.objects.exists()
    assert not storage.backup_storage().exists(ready_backup.file_name)


def test_bekijken_shows_what_is_inside(owner, ready_backup) -> None:
    body = main_text(owner.get(reverse("backups:detail", args=[ready_backup.pk])))
    assert "dbo.authors" in body and "Rijen in totaal" in body and ready_backup.sha256 in body


# --- upload (R11, R14) ---


def test_r11_an_upload_is_verified_in_a_job_and_kept(owner, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(reverse("backups:upload"), {"file": sample_upload()}, headers=HTMX)
    job = Job.objects.get(kind=Job.Kind.VERIFY_UPLOAD)
    assert response["HX-Redirect"] == reverse("backups:job", args=[job.pk])
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    backup = Backup.objects.get()
    assert backup.origin == Backup.Origin.UPLOAD and backup.kept and backup.original_file_name == "pubs.bacpac"
    assert "Geüpload" in main_text(owner.get(reverse("backups:list")))
    # The check is a step per table in the support log (and a heartbeat for the reaper while it runs).
    assert [t["name"] for t in backup.summary["tables"]] == [
        line.split("Tabel ", 1)[1].removesuffix(" controleren")
        for line in job.log.splitlines()
        if line.endswith(" controleren") and "Tabel " in line
    ]


@pytest.mark.parametrize("name", ["oud.ssb", "Administratie.MDB"])
def test_r14_an_ssb_or_mdb_is_refused_with_a_pointer_to_adding_an_existing_administration(owner, name: str) -> None:
    upload = SimpleUploadedFile(name, b"\x00\x01\x00\x00Standard Jet DB" + b"\x00" * 64)
    response = owner.post(reverse("backups:upload"), {"file": upload}, headers=HTMX)
    assert response.status_code == 422
    assert "Toevoegen → Bestaande administratie" in main_text(response)
    assert not Job.objects.exists() and not Backup.objects.exists()


def test_r5_a_file_that_is_not_a_bacpac_is_refused_in_one_sentence(
    owner, settings, django_capture_on_commit_callbacks
) -> None:
    upload = SimpleUploadedFile("nep.bacpac", b"dit is geen zip-bestand" * 50)
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(reverse("backups:upload"), {"file": upload})
    job = Job.objects.get()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.user_message.endswith(".")
    page = main_text(owner.get(reverse("backups:job", args=[job.pk])))
    assert job.user_message in page
    assert not Backup.objects.exists()
    assert list((Path(settings.DATA_DIR) / "uploads" / "staged").iterdir()) == []


def test_an_upload_over_the_size_limit_is_refused(owner, settings) -> None:
    settings.BACKUP_UPLOAD_MAX_BYTES = 1000
    response = owner.post(reverse("backups:upload"), {"file": sample_upload()})
    assert response.status_code == 422 and "groter dan" in main_text(response)


def test_other_extensions_and_empty_files_are_refused(owner) -> None:
    assert "Kies een .bacpac-bestand." in main_text(
        owner.post(reverse("backups:upload"), {"file": SimpleUploadedFile("x.zip", b"PK")})
    )
    assert "leeg" in main_text(owner.post(reverse("backups:upload"), {"file": SimpleUploadedFile("x.bacpac", b"")}))


def test_the_upload_page_answers_plain_and_htmx(owner) -> None:
    plain = owner.get(reverse("backups:upload"))
    assert element(plain, "main form progress[data-upload-progress]") is not None
    fragment = owner.get(reverse("backups:upload"), headers=HTMX)
    assert element(fragment, "form")["hx-encoding"] == "multipart/form-data"
    assert "<html" not in fragment.content.decode()
    assert owner.put(reverse("backups:upload")).status_code == 405


# --- restore (R12, R13, R15–R19) ---


def restore_post(client, backup: Backup, **data: str):
    return client.post(reverse("backups:restore", args=[backup.pk]), data)


def test_r12_r15_r17_restoring_online_shows_the_cost_and_needs_confirmation(
    owner, cast, ready_backup, django_capture_on_commit_callbacks
) -> None:
    page = main_text(owner.get(reverse("backups:restore", args=[ready_backup.pk])))
    assert "Dit wordt je 2e online administratie: +€3,00 per maand." in page
    refused = restore_post(owner, ready_backup, name="Pubs", location="online")
    assert refused.status_code == 422 and "Bevestig de extra kosten" in main_text(refused)
    with django_capture_on_commit_callbacks(execute=True):
        response = restore_post(owner, ready_backup, name="Pubs", location="online", confirm_cost="on")
    job = Job.objects.get(kind=Job.Kind.RESTORE)
    assert response.url == reverse("backups:job", args=[job.pk])
    page = owner.get(response.url)
    restored = Administration.objects.get(name="Pubs")
    link = element(page).find("a", string="Naar de nieuwe administratie")
    assert link["href"] == reverse("administrations:detail", args=[restored.pk])
    assert restored.restored_from == ready_backup
    assert table_checksums(restored.database_location())["authors"][0] == 23


def test_r17_the_first_online_administration_is_included(client, cast, django_user_model) -> None:
    from administrations.models import Account, Membership

    account = Account.objects.create(name="Nieuw", package=Package.INBALANS)
    user = django_user_model.objects.create_user("nieuw", password="x")
    Membership.objects.create(user=user, account=account, role=Membership.Role.MAIN)
    with (SAMPLES / "pubs.bacpac").open("rb") as source:
        backup = backup_upload(account=account, user=user, source=source, file_name="pubs.bacpac")
    client.force_login(user)
    page = main_text(client.get(reverse("backups:restore", args=[backup.pk])))
    assert "valt binnen je abonnement" in page


def test_r16_a_local_target_outside_the_root_is_refused(owner, ready_backup) -> None:
    response = restore_post(owner, ready_backup, name="Pubs", location="local", local_path="../../etc/pubs")
    assert response.status_code == 422
    assert "binnen de map voor lokale administraties" in main_text(response)


def test_r16_r19_a_local_file_restores_to_a_local_location(owner, settings, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(reverse("backups:upload") + "?voor=terugzetten", {"file": sample_upload()})
    backup = Backup.objects.get()
    assert not backup.kept  # only for this restore
    with django_capture_on_commit_callbacks(execute=True):
        restore_post(owner, backup, name="Pubs lokaal", location="local", local_path="2024/pubs")
    restored = Administration.objects.get(name="Pubs lokaal")
    assert restored.location == Location.LOCAL
    assert (Path(settings.LOCAL_ADMINISTRATIONS_ROOT) / "2024" / "pubs.sqlite3").exists()


def test_r18_a_network_target_needs_a_server_a_database_and_for_sql_a_user(owner, cast, ready_backup) -> None:
    response = restore_post(owner, ready_backup, name="Pubs", location="network", login_method="sql")
    body = main_text(response)
    assert "Kies een SQL-server." in body and "Geef de nieuwe database een naam." in body
    response = restore_post(
        owner,
        ready_backup,
        name="Pubs",
        location="network",
        server=str(cast.server.pk),
        database_name="pubs",
        login_method="sql",
    )
    assert "Vul de gebruikersnaam in." in main_text(response)


def test_r18_the_password_is_never_shown_again(owner, cast, ready_backup) -> None:
    response = restore_post(
        owner,
        ready_backup,
        name="Bakkerij Test",
        location="network",
        server=str(cast.server.pk),
        database_name="pubs",
        login_method="sql",
        login_user="sa",
        password="Geheim-Wachtwoord-1",
    )
    assert response.status_code == 422
    assert "Geheim-Wachtwoord-1" not in main_text(response)


def test_r12_a_name_that_exists_is_refused(owner, ready_backup) -> None:
    response = restore_post(owner, ready_backup, name="Bakkerij Test", location="local", local_path="x")
    assert "Terugzetten maakt altijd een nieuwe administratie" in main_text(response)


def test_r13_inorde_cannot_reach_the_restore_wizard(owner, cast, ready_backup) -> None:
    cast.account.package = Package.INORDE
    cast.account.save()
    response = owner.get(reverse("backups:restore", args=[ready_backup.pk]))
    assert response.status_code == 403
    assert "kun je geen back-ups maken of terugzetten: daarmee heb je geen toegang tot SnelStart 12" in main_text(
        response
    )
    assert "Back-up terugzetten" not in main_text(owner.get(reverse("administrations:list")))
    chooser = owner.get(reverse("backups:restore_choose"))
    assert chooser.status_code == 403 and "geen toegang tot SnelStart 12" in main_text(chooser)


def test_the_restore_chooser_offers_overview_back_ups_and_a_local_file(owner, ready_backup) -> None:
    links = [a["href"] for a in element(owner.get(reverse("backups:restore_choose"))).select("a[href]")]
    assert reverse("backups:restore", args=[ready_backup.pk]) in links
    assert reverse("backups:upload") + "?voor=terugzetten" in links


def test_an_extra_user_cannot_restore_into_the_account(client, cast, ready_backup) -> None:
    client.force_login(cast.extra_user)
    assert client.get(reverse("backups:restore", args=[ready_backup.pk])).status_code == 404


# --- deleting an administration (R9) and the job page ---


def test_r9_deleting_asks_for_the_name_and_makes_an_automatic_back_up(
    owner, online, django_capture_on_commit_callbacks
) -> None:
    page = main_text(owner.get(reverse("backups:delete_administration", args=[online.pk])))
    assert "maken we automatisch een back-up" in page
    wrong = owner.post(reverse("backups:delete_administration", args=[online.pk]), {"naam": "iets anders"})
    assert wrong.status_code == 422 and Administration.objects.filter(pk=online.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(reverse("backups:delete_administration", args=[online.pk]), {"naam": "Bakkerij Online"})
    assert not Administration.objects.filter(pk=online.pk).exists()
    overview = main_text(owner.get(reverse("backups:list")))
    assert "Automatisch bij verwijderen" in overview and "Bakkerij Online" in overview


def test_only_managers_see_and_reach_deleting(client, cast, online) -> None:
    client.force_login(cast.extra_user)
    from administrations.models import Right

    Right.objects.create(administration=online, grantee_kind=Right.Grantee.EXTRA_USER, user=cast.extra_user)
    assert reverse("backups:delete_administration", args=[online.pk]) not in main_text(
        client.get(reverse("administrations:list"))
    )
    refused = client.get(reverse("backups:delete_administration", args=[online.pk]))
    assert refused.status_code == 403
    assert "Alleen de hoofdgebruiker en beheerders van het account kunnen een administratie verwijderen" in main_text(
        refused
    )


def test_the_job_page_polls_until_finished_and_works_without_javascript(owner, online) -> None:
    owner.post(reverse("backups:create", args=[online.pk]))
    job = Job.objects.get()
    page = owner.get(reverse("backups:job", args=[job.pk]))
    assert element(page, "section.job")["hx-trigger"] == "every 2s" and "In de wachtrij sinds" in main_text(page)
    assert 'http-equiv="refresh"' in str(element(page, "main noscript"))
    Job.objects.filter(pk=job.pk).update(
        status="running", started_at=job.queued_at, progress=42, phase="Tabel relaties opslaan"
    )
    fragment = owner.get(reverse("backups:job", args=[job.pk]), headers=HTMX)
    assert "42%" in text_of(fragment, "section.job") and "Tabel relaties opslaan" in text_of(fragment, "section.job")
    assert "<html" not in fragment.content.decode()
    Job.objects.filter(pk=job.pk).update(status="failed", user_message="De schijf is vol.")
    fragment = owner.get(reverse("backups:job", args=[job.pk]), headers=HTMX)
    assert "De schijf is vol." in text_of(fragment, "section.job") and not element(fragment, "section.job").get(
        "hx-trigger"
    )


def test_someone_elses_job_is_404(client, cast, online) -> None:
    from backups.services import backup_create

    job = backup_create(administration=online, user=cast.owner, enqueue=False)
    client.force_login(cast.administrator)
    assert client.get(reverse("backups:job", args=[job.pk])).status_code == 404


def test_the_menu_marks_the_section_a_page_belongs_to(owner, ready_backup, online) -> None:
    def current(response) -> list[str]:
        return [link.get_text(strip=True) for link in element(response, "nav").select('[aria-current="page"]')]

    assert current(owner.get(reverse("backups:list"))) == ["Overzicht Online Back-up"]
    assert current(owner.get(reverse("backups:delete", args=[ready_backup.pk]))) == ["Overzicht Online Back-up"]
    assert current(owner.get(reverse("backups:delete_administration", args=[online.pk]))) == ["Administraties"]
    job = Job.objects.create(kind=Job.Kind.EXPORT, account=ready_backup.account, requested_by=ready_backup.created_by)
    assert current(owner.get(reverse("backups:job", args=[job.pk]))) == []
