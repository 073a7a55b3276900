"""The support desk (`/beheer/`) and what this work adds to it, through the real admin and the real support groups:
an account's storage limit (second line changes it, audited; first line only looks), back-ups found and read by the
outcome of their test-restore, and a failed test-restore started again."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from backups.models import Backup, Job
from backups.services import backup_upload
from backups.verification import verification_start
from portal.apps import FIRST_LINE, SECOND_LINE
from portal.models import AuditEvent
from tests.bacpac.samples import SAMPLES
from tests.portal.test_admin_security import form_data, main, text
from tests.schedules.html import texts

pytestmark = pytest.mark.django_db


@pytest.fixture
def helpdesk(staff_login, cast):
    cast.support.groups.add(Group.objects.get(name=FIRST_LINE))
    return staff_login(cast.support)


@pytest.fixture
def support(staff_login, cast):
    cast.support.groups.add(Group.objects.get(name=SECOND_LINE))
    return staff_login(cast.support)


@pytest.fixture
def backup(cast) -> Backup:
    with (SAMPLES / "pubs.bacpac").open("rb") as source:
        return backup_upload(account=cast.account, user=cast.owner, source=source, file_name="pubs.bacpac")


def test_second_line_support_sets_an_accounts_storage_limit_and_it_is_in_the_audit_trail(
    support, cast, client, backup
) -> None:
    url = reverse("admin:administrations_account_change", args=[cast.account.pk])
    page = support.get(url)
    assert "opslag in gebruik door back-ups" in text(main(page)).lower()
    data = form_data(page)
    data["backup_quota_gb"] = "5.0"
    assert support.post(url, data).status_code == 302
    cast.account.refresh_from_db()
    assert cast.account.backup_quota_gb == Decimal("5.0")
    [event] = AuditEvent.objects.all()
    assert (event.action, event.actor, event.account) == ("backup_quota_changed", cast.support, cast.account)
    assert event.details == {"gigabytes": "5.0", "by_support": True}

    client.force_login(cast.owner)
    [usage] = texts(client.get(reverse("backups:list")).content, "p", "data-storage-usage")
    assert usage.startswith("Opslag: ") and usage.endswith(" van 5,0 GB")


def test_first_line_support_sees_the_use_but_cannot_change_the_limit(helpdesk, cast, backup) -> None:
    url = reverse("admin:administrations_account_change", args=[cast.account.pk])
    page = main(helpdesk.get(url))
    assert "opslag in gebruik door back-ups" in text(page).lower() and 'name="_save"' not in page
    response = helpdesk.post(url, {"name": cast.account.name, "package": cast.account.package, "backup_quota_gb": "1"})
    assert response.status_code == 403
    cast.account.refresh_from_db()
    assert cast.account.backup_quota_gb is None and not AuditEvent.objects.exists()


def test_support_finds_back_ups_by_their_test_restore_and_reads_what_differed(helpdesk, cast, backup) -> None:
    Backup.objects.filter(pk=backup.pk).update(
        verification=Backup.Verification.FAILED,
        verification_report={"differences": ["Tabel dbo.authors: 23 rijen verwacht, 22 teruggezet."]},
    )
    failed = text(main(helpdesk.get(reverse("admin:backups_backup_changelist") + "?verification__exact=failed")))
    assert backup.administration_name in failed and "Klaar · Controle mislukt" in failed
    verified = text(main(helpdesk.get(reverse("admin:backups_backup_changelist") + "?verification__exact=verified")))
    assert backup.administration_name not in verified
    page = main(helpdesk.get(reverse("admin:backups_backup_change", args=[backup.pk])))
    assert "Tabel dbo.authors: 23 rijen verwacht, 22 teruggezet." in text(page) and 'name="_save"' not in page


def test_retrying_a_failed_test_restore_starts_a_fresh_one_with_a_scratch_database_of_its_own(
    support, cast, backup, django_capture_on_commit_callbacks
) -> None:
    old = verification_start(backup=backup, user=cast.owner, enqueue=False)
    Job.objects.filter(pk=old.pk).update(
        status=Job.Status.FAILED, params={**old.params, "scratch_created": True}, user_message="Onderbroken."
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = support.post(
            reverse("admin:backups_job_changelist"), {"action": "retry", "_selected_action": [old.pk]}
        )
    assert response.status_code == 302
    again = Job.objects.exclude(pk=old.pk).get(kind=Job.Kind.VERIFY_RESTORE)
    assert again.status == Job.Status.SUCCEEDED, again.user_message
    assert again.params["scratch"] != old.params["scratch"]
    backup.refresh_from_db()
    assert backup.verification == Backup.Verification.VERIFIED
