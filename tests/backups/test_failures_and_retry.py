"""Failures are no dead ends: a failed restore says what went wrong (server unreachable or login refused), offers
Opnieuw proberen with the same choices asking only for the password, and is in the audit trail as failed."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse

from administrations.models import Administration, Location
from administrations.services import Target
from backups.models import Backup, Job
from backups.restores import restore_start
from backups.services import backup_upload
from portal.models import AuditEvent
from tests.backups.helpers import SAMPLES
from tests.helpers import element, main_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready_backup(cast) -> Backup:
    with (SAMPLES / "pubs.bacpac").open("rb") as source:
        return backup_upload(account=cast.account, user=cast.owner, source=source, file_name="pubs.bacpac")


def network_restore(cast, backup, database: str, *, user: str = "postgres", callbacks) -> Job:
    with callbacks(execute=True):
        job = restore_start(
            user=cast.owner,
            account=cast.account,
            backup=backup,
            name="Pubs op de server",
            target=Target(
                Location.NETWORK,
                server=cast.server,
                database_name=database,
                login_method="sql",
                login_user=user,
                password="geheim",
            ),
        )
    job.refresh_from_db()
    return job


def test_an_unreachable_server_is_said_so_and_the_restore_is_audited_as_failed(
    client, cast, ready_backup, postgres_database_name, django_capture_on_commit_callbacks
) -> None:
    cast.server.port = 1  # nothing listens there
    cast.server.save()
    job = network_restore(cast, ready_backup, postgres_database_name, callbacks=django_capture_on_commit_callbacks)
    assert job.status == Job.Status.FAILED
    client.force_login(cast.owner)
    response = client.get(reverse("backups:job", args=[job.pk]))
    page = main_text(response)
    assert "De databaseserver is niet bereikbaar" in page and "weigert" not in page
    # The page says which administration the restore was making, under its heading and in the tab's title.
    soup = BeautifulSoup(response.content, "html.parser")
    assert soup.select_one("main .subject").get_text(strip=True) == job.params["name"]
    assert soup.title.get_text(strip=True) == f"Back-up terugzetten · {job.params['name']} · Back-upportaal"
    assert "Opnieuw proberen" in page and "Terug naar de administraties" in page
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert AuditEvent.Action.RESTORE_FAILED in actions and AuditEvent.Action.BACKUP_RESTORED not in actions


def test_a_refused_login_is_told_apart_from_an_unreachable_server(
    client, cast, ready_backup, postgres_database_name, django_capture_on_commit_callbacks
) -> None:
    job = network_restore(
        cast, ready_backup, postgres_database_name, user="niemand_bekend", callbacks=django_capture_on_commit_callbacks
    )
    assert job.status == Job.Status.FAILED
    client.force_login(cast.owner)
    page = main_text(client.get(reverse("backups:job", args=[job.pk])))
    assert "De databaseserver weigert de aanmelding" in page and "niet bereikbaar" not in page


def test_opnieuw_proberen_keeps_the_choices_and_asks_only_for_the_password(
    client, cast, ready_backup, postgres_database_name, django_capture_on_commit_callbacks
) -> None:
    cast.server.port = 1
    cast.server.save()
    failed = network_restore(cast, ready_backup, postgres_database_name, callbacks=django_capture_on_commit_callbacks)
    cast.server.port = 5432  # the server is back
    cast.server.save()
    client.force_login(cast.owner)
    url = reverse("backups:job_retry", args=[failed.pk])
    form = client.get(url)
    text = main_text(form)
    assert "Pubs op de server" in text and "KANTOOR-SRV (PostgreSQL)" in text and "SQL-authenticatie (postgres)" in text
    assert [field["name"] for field in element(form).select("form input:not([type=hidden])")] == ["password"]
    refused = client.post(url, {})
    assert refused.status_code == 422 and "Vul het wachtwoord van de SQL-gebruiker in." in main_text(refused)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"password": "geheim"})
    retried = Job.objects.exclude(pk=failed.pk).get()
    assert response.url == reverse("backups:job", args=[retried.pk])
    retried.refresh_from_db()
    assert retried.status == Job.Status.SUCCEEDED, retried.log
    assert Administration.objects.filter(name="Pubs op de server", database_name=postgres_database_name).exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.BACKUP_RESTORED).count() == 1


def test_only_a_failed_restore_of_ones_own_can_be_retried(client, cast, ready_backup) -> None:
    job = restore_start(
        user=cast.owner,
        account=cast.account,
        backup=ready_backup,
        name="X",
        target=Target(Location.LOCAL, "x"),
        enqueue=False,
    )
    client.force_login(cast.owner)
    assert client.get(reverse("backups:job_retry", args=[job.pk])).status_code == 404  # not failed
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED)
    client.force_login(cast.outsider)
    assert client.get(reverse("backups:job_retry", args=[job.pk])).status_code == 404


def test_a_failed_job_message_is_shown_in_the_readers_language(client, cast, ready_backup) -> None:
    job = Job.objects.create(
        kind=Job.Kind.RESTORE,
        account=cast.account,
        backup=ready_backup,
        requested_by=cast.owner,
        status=Job.Status.FAILED,
        user_message="De verwerking is onderbroken. Er is niets half opgeslagen; probeer het opnieuw.",
        params={"name": "X", "location": "local", "local_path": "x"},
    )
    client.force_login(cast.owner)
    client.cookies["django_language"] = "en"
    page = main_text(client.get(reverse("backups:job", args=[job.pk])))
    assert "onderbroken" not in page and "Try again" in page
