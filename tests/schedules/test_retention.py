"""Retention per schedule (grandfather-father-son) over simulated weeks and months: only scheduled back-ups go, the
newest ready back-up and one a restore is using never do, each removal is in the audit trail, and the dry run on
the form is exactly what the next round removes."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from backups import retention, storage
from backups.models import Backup, BackupSchedule, Job
from backups.schedules import next_run_after, schedule_save, start_due_backups
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db
AMS = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(autouse=True)
def _no_spread(settings) -> None:
    settings.SCHEDULE_SPREAD_SECONDS = 0


def fast_worker(schedule: BackupSchedule) -> None:
    """What the worker does with each queued scheduled export, minus the engine: a real small file in storage,
    the back-up ready, the job done, then the retention round (as after_scheduled_backup does)."""
    for job in Job.objects.unfinished().filter(kind=Job.Kind.EXPORT).select_related("backup"):
        backup = job.backup
        stored = storage.store(io.BytesIO(b"PK fake bacpac %d" % backup.pk), name=storage.final_name(backup.account_id))
        Backup.objects.filter(pk=backup.pk).update(
            status=Backup.Status.READY, file_name=stored.name, size=stored.size, sha256=stored.sha256
        )
        Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED)
        retention.apply(schedule)


def kept_local_dates(administration) -> list[dt.date]:
    return sorted(
        timezone.localtime(b.created_at, AMS).date()
        for b in Backup.objects.filter(administration=administration, origin=Backup.Origin.SCHEDULED)
    )


def ready(administration, when: dt.datetime, origin: str = Backup.Origin.SCHEDULED) -> Backup:
    return Backup.objects.create(
        account=administration.account,
        administration=administration,
        administration_name=administration.name,
        origin=origin,
        status=Backup.Status.READY,
        file_name=f"x/{when:%Y%m%d%H%M}-{origin}.bacpac",
        size=10,
        sha256="0" * 64,
        created_at=when,
    )


def test_four_months_of_daily_back_ups_keep_7_daily_4_weekly_12_monthly(
    cast, online, django_capture_on_commit_callbacks
):
    with time_machine.travel(dt.datetime(2026, 8, 31, 12, 0, tzinfo=AMS), tick=False) as traveller:
        schedule = schedule_save(BackupSchedule(administration=online, frequency="daily", time_of_day=dt.time(2, 0)))
        day = dt.datetime(2026, 9, 1, 3, 0, tzinfo=AMS)
        while day <= dt.datetime(2026, 12, 31, 3, 0, tzinfo=AMS):
            traveller.move_to(day)
            with django_capture_on_commit_callbacks(execute=False):
                start_due_backups()
            fast_worker(schedule)
            day = (day + dt.timedelta(days=1)).replace(hour=3)  # local 03:00, also across the October change

    dates = kept_local_dates(online)
    expected = (
        [dt.date(2026, 9, 30), dt.date(2026, 10, 31), dt.date(2026, 11, 30)]  # monthly (December's is 31 Dec)
        + [dt.date(2026, 12, 13), dt.date(2026, 12, 20)]  # weekly: Sundays of the three weeks before this one
        + [dt.date(2026, 12, d) for d in range(25, 32)]  # the last seven days (27 Dec is also a weekly one)
    )
    assert dates == expected
    # Every removal is in the audit trail, by nobody (the schedule), with the reason.
    removals = AuditEvent.objects.filter(action=AuditEvent.Action.BACKUP_DELETED, administration=online)
    assert removals.count() == 122 - len(expected)
    assert all(e.actor is None and e.details["reason"] == "retention" for e in removals)
    # And the files went with them: only the kept ones are in storage.
    assert all(storage.size_of(b.file_name) == b.size for b in Backup.objects.all())


def test_only_scheduled_back_ups_are_removed_and_the_newest_ready_one_never(cast, online) -> None:
    base = dt.datetime(2026, 6, 1, 2, 0, tzinfo=AMS)
    manual = ready(online, base - dt.timedelta(days=300), Backup.Origin.MANUAL)
    uploaded = ready(online, base - dt.timedelta(days=200), Backup.Origin.UPLOAD)
    on_delete = ready(online, base - dt.timedelta(days=100), Backup.Origin.AUTOMATIC_ON_DELETE)
    scheduled = [ready(online, base + dt.timedelta(days=i)) for i in range(5)]
    schedule = schedule_save(
        BackupSchedule(administration=online, frequency="daily", keep_daily=0, keep_weekly=0, keep_monthly=0)
    )

    removed = retention.apply(schedule)

    assert removed == [b.pk for b in scheduled[:4]]
    assert set(Backup.objects.values_list("pk", flat=True)) == {manual.pk, uploaded.pk, on_delete.pk, scheduled[4].pk}


def test_a_back_up_that_a_restore_or_test_restore_is_using_is_not_removed(cast, online) -> None:
    base = dt.datetime(2026, 6, 1, 2, 0, tzinfo=AMS)
    scheduled = [ready(online, base + dt.timedelta(days=i)) for i in range(4)]
    Job.objects.create(kind=Job.Kind.RESTORE, account=cast.account, backup=scheduled[0], status=Job.Status.RUNNING)
    Job.objects.create(kind=Job.Kind.VERIFY_RESTORE, account=cast.account, backup=scheduled[1])
    Job.objects.create(kind=Job.Kind.RESTORE, account=cast.account, backup=scheduled[2], status=Job.Status.SUCCEEDED)
    schedule = schedule_save(
        BackupSchedule(administration=online, frequency="daily", keep_daily=1, keep_weekly=0, keep_monthly=0)
    )

    # The dry run on the form says so too, and the round itself checks again under a lock before each removal.
    assert [b.pk for b in retention.plan(online, retention.Rules.of(schedule))] == [scheduled[2].pk]
    assert retention.apply(schedule) == [scheduled[2].pk]
    assert set(Backup.objects.values_list("pk", flat=True)) == {scheduled[0].pk, scheduled[1].pk, scheduled[3].pk}


def test_the_dry_run_is_exactly_what_the_next_round_removes(cast, online, django_capture_on_commit_callbacks):
    # Two months of daily back-ups at 02:00, 1 Sep … 31 Oct 2026 (across the October change), rules 5/2/1.
    for i in range(61):
        ready(online, dt.datetime(2026, 9, 1, 2, 0, tzinfo=AMS) + dt.timedelta(days=i))
    with time_machine.travel(dt.datetime(2026, 11, 1, 0, 30, tzinfo=AMS), tick=False) as traveller:
        schedule = schedule_save(
            BackupSchedule(
                administration=online,
                frequency="daily",
                time_of_day=dt.time(2, 0),
                keep_daily=5,
                keep_weekly=2,
                keep_monthly=1,
            )
        )
        upcoming = next_run_after(schedule, timezone.now())
        planned = [b.pk for b in retention.plan(online, retention.Rules.of(schedule), upcoming=upcoming)]
        # Kept after the new one of Sunday 1 Nov: days 28–31 Oct (with 1 Nov, five days), week 43's newest (25 Oct);
        # week 44 and November are the new one's.
        assert len(planned) == 61 - 5

        traveller.move_to(upcoming + dt.timedelta(minutes=1))
        with django_capture_on_commit_callbacks(execute=False):
            start_due_backups()
        before = set(Backup.objects.values_list("pk", flat=True))
        fast_worker(schedule)
    removed = before - set(Backup.objects.values_list("pk", flat=True))
    assert sorted(removed) == sorted(planned)
