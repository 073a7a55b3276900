"""Support staff in the Django admin: first line looks, second line may also retry, cancel and download."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth.models import Group

from administrations import bookkeeping
from administrations.models import Location
from administrations.services import Target, administration_create
from backups.models import Backup, Job
from backups.services import backup_create, backup_upload
from portal.apps import FIRST_LINE, SECOND_LINE
from portal.models import AuditEvent
from tests.backups.helpers import SAMPLES
from tests.helpers import main_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def first_line(staff_login, cast):
    cast.support.groups.add(Group.objects.get(name=FIRST_LINE))
    return staff_login(cast.support)


@pytest.fixture
def second_line(staff_login, cast):
    cast.support.groups.add(Group.objects.get(name=SECOND_LINE))
    return staff_login(cast.support)


@pytest.fixture
def backup(cast) -> Backup:
    with (SAMPLES / "pubs.bacpac").open("rb") as source:
        return backup_upload(account=cast.account, user=cast.owner, source=source, file_name="pubs.bacpac")


@pytest.fixture
def failed_job(cast) -> Job:
    administration = administration_create(
        account=cast.account,
        name="Hulp",
        target=Target(Location.ONLINE),
        populate=lambda e: bookkeeping.fill(e, lines=10),
    )
    job = backup_create(administration=administration, user=cast.owner, enqueue=False)
    Job.objects.filter(pk=job.pk).update(status="failed", user_message="Mislukt.", log="Traceback: schijf vol")
    return job


def test_support_finds_a_customer_by_back_up_and_reads_a_jobs_full_log(first_line, cast, backup, failed_job) -> None:
    assert "pubs" in main_text(first_line.get("/beheer/backups/backup/?q=pubs"))
    assert "Bakkerij Test" in main_text(first_line.get("/beheer/backups/backup/?q=owner@example.nl"))
    page = main_text(first_line.get(f"/beheer/backups/job/{failed_job.pk}/change/"))
    assert "Traceback: schijf vol" in page
    contents = main_text(first_line.get(f"/beheer/backups/backup/{backup.pk}/change/"))
    assert "dbo.authors" in contents


def test_first_line_cannot_change_retry_or_download(first_line, cast, backup, failed_job) -> None:
    assert first_line.get(f"/beheer/backups/backup/{backup.pk}/downloaden/").status_code == 403
    response = first_line.post("/beheer/backups/job/", {"action": "retry", "_selected_action": [failed_job.pk]})
    assert Job.objects.count() == 1
    assert response.status_code in (200, 302)
    assert (
        first_line.post(f"/beheer/administrations/account/{cast.account.pk}/change/", {"name": "Gewijzigd"}).status_code
        == 403
    )
    assert not AuditEvent.objects.exists()


def test_second_line_retries_a_failed_job(second_line, cast, failed_job, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        second_line.post("/beheer/backups/job/", {"action": "retry", "_selected_action": [failed_job.pk]})
    retried = Job.objects.exclude(pk=failed_job.pk).get()
    assert retried.status == Job.Status.SUCCEEDED and retried.backup.is_ready


def test_second_line_cancels_a_stuck_job(second_line, cast, failed_job) -> None:
    Job.objects.filter(pk=failed_job.pk).update(status="running")
    second_line.post("/beheer/backups/job/", {"action": "cancel", "_selected_action": [failed_job.pk]})
    failed_job.refresh_from_db()
    assert failed_job.status == Job.Status.FAILED and "klantenservice" in failed_job.user_message
    assert failed_job.backup.status == Backup.Status.FAILED


def test_second_line_downloads_for_investigation_and_it_is_logged(second_line, cast, backup) -> None:
    response = second_line.get(f"/beheer/backups/backup/{backup.pk}/downloaden/")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    [event] = AuditEvent.objects.all()
    assert event.action == "backup_downloaded" and event.actor == cast.support and event.details == {"by_support": True}


def test_nobody_edits_the_audit_trail(second_line, cast) -> None:
    from portal import audit

    event = audit.record(None, "right_given", actor=cast.owner, target="x")
    assert second_line.get("/beheer/portal/auditevent/").status_code == 200
    assert second_line.post(f"/beheer/portal/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403


def test_the_admins_lists_write_dates_as_the_portal_does(first_line, cast, backup) -> None:
    """01-12-2026 18:39 in Amsterdam time, not Django's '1 december 2026 18:39' beside the portal's style."""
    moment = datetime(2026, 12, 1, 17, 39, tzinfo=UTC)
    Backup.objects.filter(pk=backup.pk).update(created_at=moment)
    rows = BeautifulSoup(first_line.get("/beheer/backups/backup/").content, "html.parser").select(
        "#result_list tbody tr"
    )
    assert [row.select_one(".field-created_at").get_text(strip=True) for row in rows] == ["01-12-2026 18:39"]
