"""The one periodic task that starts automatic back-ups: due schedules become ordinary back-up jobs with origin
"Gepland"; time moves with time-machine over simulated weeks, daylight-saving changes and a worker that was down."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from administrations.models import Administration, Location, Package
from administrations.services import Target, administration_create
from backups.models import Backup, BackupSchedule, Job
from backups.schedules import schedule_save, start_due_backups
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db
AMS = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(autouse=True)
def _no_spread(settings) -> None:
    settings.SCHEDULE_SPREAD_SECONDS = 0


def switch_on(administration: Administration, **kw) -> BackupSchedule:
    return schedule_save(BackupSchedule(administration=administration, **kw))


def finish_jobs() -> None:
    """What a worker does with the queued exports between two rounds (here without making the files)."""
    Job.objects.unfinished().update(status=Job.Status.SUCCEEDED, finished_at=timezone.now())


def simulate(start: dt.datetime, end: dt.datetime, step: dt.timedelta) -> None:
    """The scheduler running every `step` from `start` to `end`, with the worker finishing jobs in between."""
    with time_machine.travel(start, tick=False) as traveller:
        moment = start
        while moment < end:
            start_due_backups()
            finish_jobs()
            moment += step
            traveller.move_to(moment)


def started_local_dates() -> Counter[dt.date]:
    return Counter(
        timezone.localtime(b.created_at, AMS).date() for b in Backup.objects.filter(origin=Backup.Origin.SCHEDULED)
    )


def test_a_due_schedule_becomes_an_ordinary_back_up_that_is_made_kept_and_verified(cast, online, run_on_commit):
    with time_machine.travel(dt.datetime(2026, 12, 1, 12, 0, tzinfo=AMS), tick=False) as traveller:
        schedule = switch_on(online, frequency="daily", time_of_day=dt.time(2, 0))
        assert schedule.next_run_at == dt.datetime(2026, 12, 2, 2, 0, tzinfo=AMS)
        assert run_on_commit(start_due_backups)["started"] == 0  # not due yet
        traveller.move_to(dt.datetime(2026, 12, 2, 2, 0, 30, tzinfo=AMS))
        result = run_on_commit(start_due_backups)

    assert result["started"] == 1
    backup = Backup.objects.get()
    assert backup.origin == Backup.Origin.SCHEDULED and backup.get_origin_display() == "Gepland"
    assert backup.is_ready and backup.kept and backup.created_by is None
    export = Job.objects.get(kind=Job.Kind.EXPORT)
    assert export.status == Job.Status.SUCCEEDED and export.backup == backup
    # A scheduled back-up is checked by a test-restore right after it is made.
    verify = Job.objects.get(kind=Job.Kind.VERIFY_RESTORE)
    assert verify.status == Job.Status.SUCCEEDED and verify.backup == backup
    assert backup.verification == Backup.Verification.VERIFIED
    schedule.refresh_from_db()
    assert schedule.last_job == export and schedule.next_run_at == dt.datetime(2026, 12, 3, 2, 0, tzinfo=AMS)
    made = AuditEvent.objects.get(action=AuditEvent.Action.BACKUP_MADE)
    assert made.administration == online and made.actor is None and f"back-up {backup.pk}" in made.target


def test_r2_r10_local_and_network_administrations_scheduled_back_ups_stay_in_the_overview(cast, run_on_commit) -> None:
    local = administration_create(
        account=cast.account, name="Lokaal", target=Target(Location.LOCAL, local_path="lokaal.sqlite3")
    )
    with time_machine.travel(dt.datetime(2026, 12, 1, 12, 0, tzinfo=AMS), tick=False) as traveller:
        switch_on(local, frequency="daily", time_of_day=dt.time(2, 0))
        traveller.move_to(dt.datetime(2026, 12, 2, 3, 0, tzinfo=AMS))
        run_on_commit(start_due_backups)
    backup = Backup.objects.get(administration=local)
    assert backup.is_ready and backup.kept
    assert list(Backup.objects.visible_to(cast.owner).in_overview()) == [backup]


def test_a_worker_down_for_days_runs_a_missed_back_up_once_when_it_is_back(cast, online) -> None:
    with time_machine.travel(dt.datetime(2026, 12, 1, 12, 0, tzinfo=AMS), tick=False) as traveller:
        schedule = switch_on(online, frequency="daily", time_of_day=dt.time(2, 0))
        # Nothing ran on 2, 3, 4 and 5 December; the worker is back on the 5th at 10:00.
        traveller.move_to(dt.datetime(2026, 12, 5, 10, 0, tzinfo=AMS))
        assert start_due_backups()["started"] == 1
        traveller.move_to(dt.datetime(2026, 12, 5, 10, 1, tzinfo=AMS))
        assert start_due_backups()["started"] == 0
    assert Job.objects.filter(kind=Job.Kind.EXPORT).count() == 1
    schedule.refresh_from_db()
    assert schedule.next_run_at == dt.datetime(2026, 12, 6, 2, 0, tzinfo=AMS)


def test_daily_over_both_daylight_saving_changes_runs_once_every_local_day(cast, online) -> None:
    switch_on(online, frequency="daily", time_of_day=dt.time(2, 30))
    BackupSchedule.objects.update(next_run_at=dt.datetime(2026, 3, 26, 2, 30, tzinfo=AMS))
    simulate(
        dt.datetime(2026, 3, 26, 0, 0, tzinfo=AMS), dt.datetime(2026, 4, 2, 0, 0, tzinfo=AMS), dt.timedelta(minutes=20)
    )
    spring = started_local_dates()
    assert spring == Counter({dt.date(2026, 3, d): 1 for d in range(26, 32)} | {dt.date(2026, 4, 1): 1})

    Backup.objects.all().delete()
    BackupSchedule.objects.update(next_run_at=dt.datetime(2026, 10, 22, 2, 30, tzinfo=AMS))
    simulate(
        dt.datetime(2026, 10, 22, 0, 0, tzinfo=AMS),
        dt.datetime(2026, 10, 29, 0, 0, tzinfo=AMS),
        dt.timedelta(minutes=20),
    )
    autumn = started_local_dates()
    assert autumn == Counter({dt.date(2026, 10, d): 1 for d in range(22, 29)})


def test_weekly_and_monthly_over_simulated_months(cast, online) -> None:
    other = administration_create(account=cast.account, name="Tweede", target=Target(Location.ONLINE))
    with time_machine.travel(dt.datetime(2026, 1, 1, 12, 0, tzinfo=AMS), tick=False):
        switch_on(online, frequency="weekly", weekday=BackupSchedule.Weekday.SUNDAY, time_of_day=dt.time(1, 0))
        switch_on(other, frequency="monthly", day_of_month=31, time_of_day=dt.time(4, 0))
    simulate(
        dt.datetime(2026, 1, 1, 12, 0, tzinfo=AMS), dt.datetime(2026, 5, 1, 0, 0, tzinfo=AMS), dt.timedelta(hours=3)
    )
    weekly = [
        timezone.localtime(b.created_at, AMS) for b in Backup.objects.filter(administration=online).order_by("pk")
    ]
    # Started by the first scheduler round at or after Sunday 01:00 (rounds every three hours here).
    assert len(weekly) == 17 and all(m.weekday() == 6 and 1 <= m.hour < 4 for m in weekly)
    monthly = [
        timezone.localtime(b.created_at, AMS).date() for b in Backup.objects.filter(administration=other).order_by("pk")
    ]
    assert monthly == [dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31), dt.date(2026, 4, 30)]


def test_r4_an_administration_already_being_backed_up_or_on_inorde_is_skipped_and_moved_on(cast, online) -> None:
    from backups.services import backup_create

    inorde = cast.outsider_account
    inorde.package = Package.INORDE
    inorde.save()
    with time_machine.travel(dt.datetime(2026, 12, 1, 12, 0, tzinfo=AMS), tick=False) as traveller:
        switch_on(online, frequency="daily", time_of_day=dt.time(2, 0))
        switch_on(cast.other_administration, frequency="daily", time_of_day=dt.time(2, 0))
        manual = backup_create(administration=online, user=cast.owner, enqueue=False)
        traveller.move_to(dt.datetime(2026, 12, 2, 2, 5, tzinfo=AMS))
        result = start_due_backups()
    assert result == {**result, "picked": 2, "started": 0, "skipped": 2}
    assert list(Job.objects.all()) == [manual]
    assert all(s.next_run_at == dt.datetime(2026, 12, 3, 2, 0, tzinfo=AMS) for s in BackupSchedule.objects.all())


def test_r1_a_switched_off_schedule_never_runs(cast, online) -> None:
    with time_machine.travel(dt.datetime(2026, 12, 1, 12, 0, tzinfo=AMS), tick=False) as traveller:
        schedule = switch_on(online, frequency="daily", time_of_day=dt.time(2, 0))
        schedule.enabled = False
        schedule_save(schedule)
        assert schedule.next_run_at is None
        traveller.move_to(dt.datetime(2026, 12, 9, 12, 0, tzinfo=AMS))
        assert start_due_backups()["picked"] == 0
    assert not Backup.objects.exists()


def test_a_broker_that_cannot_be_reached_leaves_the_started_back_ups_queued_for_the_reaper(
    cast, online, settings, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    """As with "Back-up maken": the scheduler's round does not fail, and the jobs it made stay queued without a
    noted hand-over, which is what the reaper looks for to hand them over again (backups.jobs.jobs_requeue)."""
    import django_q.brokers
    import django_q.tasks

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    monkeypatch.setattr(django_q.brokers, "get_broker", lambda *a, **k: object())

    def unreachable(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(django_q.tasks, "async_task", unreachable)
    with time_machine.travel(dt.datetime(2026, 12, 1, 12, 0, tzinfo=AMS), tick=False) as traveller:
        switch_on(online, frequency="daily", time_of_day=dt.time(2, 0))
        traveller.move_to(dt.datetime(2026, 12, 2, 2, 1, tzinfo=AMS))
        with django_capture_on_commit_callbacks(execute=True):
            result = start_due_backups()
    assert result["started"] == 1
    job = Job.objects.get()
    assert (job.status, job.enqueued_at, job.enqueue_count) == (Job.Status.QUEUED, None, 0)
    assert BackupSchedule.objects.get().next_run_at == dt.datetime(2026, 12, 3, 2, 0, tzinfo=AMS)
