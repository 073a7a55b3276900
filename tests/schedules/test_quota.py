"""Storage quota per account: the overview shows use and quota, a back-up that would pass it is refused with a
message saying what to delete, and what retention removes right after a scheduled back-up counts as free room."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from administrations.services import Target, administration_create
from backups.models import Backup, BackupSchedule, Job
from backups.schedules import schedule_save, start_due_backups
from backups.services import BackupRefused, backup_create
from tests.schedules.html import main_text, texts

pytestmark = pytest.mark.django_db


def set_quota(account, gigabytes: Decimal) -> None:
    account.backup_quota_gb = gigabytes
    account.save(update_fields=["backup_quota_gb"])


def fake_ready(administration, size: int, *, days_ago: int = 30, origin: str = Backup.Origin.MANUAL) -> Backup:
    return Backup.objects.create(
        account=administration.account,
        administration=administration,
        administration_name=administration.name,
        origin=origin,
        status=Backup.Status.READY,
        file_name=f"fake/{size}-{days_ago}.bacpac",
        size=size,
        sha256="0" * 64,
        created_at=timezone.now() - dt.timedelta(days=days_ago),
    )


def test_the_overview_shows_use_and_quota(client, cast, online) -> None:
    set_quota(cast.account, Decimal("10"))
    fake_ready(online, 2_000_000_000)
    fake_ready(online, 300_000_000, days_ago=20)
    client.force_login(cast.owner)
    [usage] = texts(client.get(reverse("backups:list")).content, "p", "data-storage-usage")
    assert usage == "Opslag: 2,3 GB van 10,0 GB"


def test_without_a_quota_only_the_use_is_shown_and_nothing_is_refused(client, cast, online, run_on_commit) -> None:
    fake_ready(online, 2_345_000_000)
    client.force_login(cast.owner)
    [usage] = texts(client.get(reverse("backups:list")).content, "p", "data-storage-usage")
    assert usage == "Opslag: 2,3 GB"
    assert run_on_commit(backup_create, administration=online, user=cast.owner).status == Job.Status.SUCCEEDED


def test_a_back_up_that_would_pass_the_quota_is_refused_with_what_to_delete(client, cast, online) -> None:
    set_quota(cast.account, Decimal("0.1"))
    fake_ready(online, 99_000_000, days_ago=40)
    client.force_login(cast.owner)

    response = client.post(reverse("backups:create", args=[online.pk]), follow=True)

    text = main_text(response.content)
    assert "Deze back-up past niet meer in je opslag: 0,1 GB van 0,1 GB is in gebruik" in text
    assert "Verwijder eerst oude back-ups in het Overzicht Online Back-up." in text
    assert "De oudste zijn: Bakkerij Online" in text
    assert Backup.objects.count() == 1 and not Job.objects.exists()


def test_the_real_size_is_checked_when_the_file_is_made_and_nothing_is_stored(cast, online, run_on_commit) -> None:
    other = administration_create(account=cast.account, name="Groot", target=Target("online"))
    set_quota(cast.account, Decimal("0.1"))
    fake_ready(other, 99_999_000)  # the estimate for `online` is 0: its first back-up

    job = run_on_commit(backup_create, administration=online, user=cast.owner)

    assert job.status == Job.Status.FAILED
    assert "past niet meer in je opslag" in job.user_message
    backup = Backup.objects.get(pk=job.backup_id)
    assert backup.status == Backup.Status.FAILED and backup.file_name == ""


def test_what_retention_frees_right_after_a_scheduled_back_up_counts(cast, online, run_on_commit, settings) -> None:
    settings.SCHEDULE_SPREAD_SECONDS = 0
    set_quota(cast.account, Decimal("0.1"))
    old = fake_ready(online, 99_999_000, days_ago=3, origin=Backup.Origin.SCHEDULED)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        schedule_save(BackupSchedule(administration=online, keep_daily=1, keep_weekly=0, keep_monthly=0))
        # A manual back-up does not get that room…
        with pytest.raises(BackupRefused):
            backup_create(administration=online, user=cast.owner)
        # …the scheduled one does, and its retention round removes the old one.
        next_run = BackupSchedule.objects.get().next_run_at
        assert next_run is not None
        traveller.move_to(next_run + dt.timedelta(seconds=1))
        run_on_commit(start_due_backups)
    scheduled = Backup.objects.filter(origin=Backup.Origin.SCHEDULED).exclude(pk=old.pk).get()
    assert scheduled.is_ready
    assert not Backup.objects.filter(pk=old.pk).exists()
