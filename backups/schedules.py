"""Automatic back-ups: when a schedule is due next, and the one periodic task that starts the due ones.

Times are local (TIME_ZONE, Europe/Amsterdam): "daily at 02:00" is 02:00 on the clock in winter and in summer. On
the spring change 02:00–03:00 does not exist and such a time runs an hour later on the clock (02:30 → 03:30); on
the autumn change 02:00–03:00 happens twice and the back-up runs at the first of the two, once.

Every administration has a fixed place in a spread window (SCHEDULE_SPREAD_SECONDS, from a hash of its id), so
10,000 schedules set to 02:00 start over an hour instead of in one second. The scheduler (`start_due_backups`,
every minute) takes due schedules in batches with SELECT … FOR UPDATE SKIP LOCKED (two schedulers never take the
same one), starts ordinary back-up jobs with origin "Gepland" with a fixed number of queries per batch, and moves
each schedule's next run past *now*: a worker that was down for days runs a missed back-up once, not once per
missed day.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from administrations.models import Administration
from backups.jobs import jobs_enqueue
from backups.models import Backup, BackupSchedule, Job
from portal.models import AuditEvent

logger = logging.getLogger(__name__)


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def spread_offset(administration_id: int) -> dt.timedelta:
    """This administration's fixed place in the spread window (the same on every run, every machine)."""
    window = max(int(settings.SCHEDULE_SPREAD_SECONDS), 0)
    if window == 0:
        return dt.timedelta(0)
    digest = hashlib.sha256(f"backup-schedule:{administration_id}".encode()).digest()
    return dt.timedelta(seconds=int.from_bytes(digest[:8], "big") % window)


def _runs_on(schedule: BackupSchedule, day: dt.date) -> bool:
    if schedule.frequency == BackupSchedule.Frequency.WEEKLY:
        return day.weekday() == schedule.weekday
    if schedule.frequency == BackupSchedule.Frequency.MONTHLY:
        last = calendar.monthrange(day.year, day.month)[1]
        return day.day == min(int(schedule.day_of_month or 1), last)
    return True


def _on_the_clock(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """`at` on `day` in the local zone, as a UTC moment. A time that does not exist (spring change) is read with
    the offset from before the change, i.e. an hour later on the clock; a time that happens twice is the first."""
    return dt.datetime.combine(day, at.replace(tzinfo=None)).replace(tzinfo=zone, fold=0).astimezone(dt.UTC)


def nominal_after(schedule: BackupSchedule, moment: dt.datetime) -> dt.datetime:
    """The first chosen time strictly after `moment` (without the spread offset)."""
    zone = local_zone()
    day = moment.astimezone(zone).date()
    for _step in range(400):
        if _runs_on(schedule, day):
            candidate = _on_the_clock(day, schedule.time_of_day, zone)
            if candidate > moment:
                return candidate
        day += dt.timedelta(days=1)
    raise ValueError(f"schedule {schedule.pk} never runs")  # pragma: no cover - every frequency runs within a year


def next_run_after(schedule: BackupSchedule, moment: dt.datetime) -> dt.datetime:
    """When the scheduler should start this schedule's next back-up: the first chosen time whose start (the time
    plus the administration's offset) lies after `moment`."""
    offset = spread_offset(schedule.administration_id)
    return nominal_after(schedule, moment - offset) + offset


def schedule_save(schedule: BackupSchedule, *, now: dt.datetime | None = None) -> BackupSchedule:
    """Store a schedule from the form: its next run follows from what was chosen, counted from now."""
    now = now or timezone.now()
    if schedule.frequency != BackupSchedule.Frequency.WEEKLY:
        schedule.weekday = None
    if schedule.frequency != BackupSchedule.Frequency.MONTHLY:
        schedule.day_of_month = None
    schedule.next_run_at = next_run_after(schedule, now) if schedule.enabled else None
    schedule.save()
    return schedule


# ------------------------------------------------------------------------------------------------ the scheduler


@dataclass
class BatchResult:
    picked: int
    started: int
    skipped: int


def _can_start(administration: Administration) -> bool:
    return administration.status == Administration.Status.ACTIVE and administration.capabilities.can_create_backups


def start_due_batch(*, now: dt.datetime | None = None, batch_size: int | None = None) -> BatchResult:
    """Start back-ups for one batch of due schedules, in one transaction with a fixed number of queries:
    lock the batch, find the administrations already being backed up, insert the back-ups, jobs and audit lines,
    move the schedules on. The jobs go to the workers when the transaction commits."""
    now = now or timezone.now()
    size = batch_size or settings.SCHEDULE_BATCH_SIZE
    with transaction.atomic():
        picked = list(
            BackupSchedule.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(next_run_at__lte=now, enabled=True)
            .select_related("administration__account")
            .order_by("next_run_at", "pk")[:size]
        )
        if not picked:
            return BatchResult(0, 0, 0)
        ids = [s.administration_id for s in picked]
        busy = set(
            Job.objects.unfinished()
            .filter(kind=Job.Kind.EXPORT, administration_id__in=ids)
            .values_list("administration_id", flat=True)
        )
        due = [s for s in picked if s.administration_id not in busy and _can_start(s.administration)]
        for schedule in picked:
            schedule.next_run_at = next_run_after(schedule, now)
        jobs = _start_backups(due, now)
        for schedule in due:
            schedule.last_run_at = now
            schedule.last_job = jobs.get(schedule.administration_id)
        _move_on(picked)
    return BatchResult(len(picked), len(jobs), len(picked) - len(jobs))


# Rows per UPDATE when moving schedules on: four parameters a row stays below SQLite's 999-parameter limit.
MOVE_ON_ROWS = 240


def _move_on(schedules: list[BackupSchedule]) -> None:
    """Write each schedule's next run, last run and last job: one UPDATE per MOVE_ON_ROWS schedules from a VALUES
    list (Django's bulk_update builds a CASE per row and field, which costs seconds for a batch of 500)."""
    vendor = connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        BackupSchedule.objects.bulk_update(schedules, ["next_run_at", "last_run_at", "last_job"])
        return
    table = connection.ops.quote_name(BackupSchedule._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    row = "(%s::bigint, %s::timestamptz, %s::timestamptz, %s::bigint)" if vendor == "postgresql" else "(%s, %s, %s, %s)"
    with connection.cursor() as cursor:
        for start in range(0, len(schedules), MOVE_ON_ROWS):
            chunk = schedules[start : start + MOVE_ON_ROWS]
            params: list[Any] = []
            for s in chunk:
                params += [s.pk, adapt(s.next_run_at), adapt(s.last_run_at), s.last_job_id]
            values = ", ".join([row] * len(chunk))
            cursor.execute(
                f"WITH v(id, next_run_at, last_run_at, last_job_id) AS (VALUES {values}) "  # noqa: S608 - names are ours
                f"UPDATE {table} SET "
                f"next_run_at = (SELECT v.next_run_at FROM v WHERE v.id = {table}.id), "
                f"last_run_at = COALESCE((SELECT v.last_run_at FROM v WHERE v.id = {table}.id), last_run_at), "
                f"last_job_id = COALESCE((SELECT v.last_job_id FROM v WHERE v.id = {table}.id), last_job_id) "
                f"WHERE id IN (SELECT v.id FROM v)",
                params,
            )


def _start_backups(due: list[BackupSchedule], now: dt.datetime) -> dict[int, Job]:
    if not due:
        return {}
    try:
        with transaction.atomic():
            backups = Backup.objects.bulk_create(
                [
                    Backup(
                        account_id=s.administration.account_id,
                        administration=s.administration,
                        administration_name=s.administration.name,
                        origin=Backup.Origin.SCHEDULED,
                        # Kept in the overview for every location: nobody is there to download it (R10).
                        kept=True,
                        created_at=now,
                    )
                    for s in due
                ]
            )
            jobs = Job.objects.bulk_create(
                [
                    Job(
                        kind=Job.Kind.EXPORT,
                        account_id=b.account_id,
                        administration_id=b.administration_id,
                        backup=b,
                        params={"scheduled": True},
                        queued_at=now,
                    )
                    for b in backups
                ]
            )
            AuditEvent.objects.bulk_create(
                [
                    AuditEvent(
                        action=AuditEvent.Action.BACKUP_MADE,
                        account_id=b.account_id,
                        administration_id=b.administration_id,
                        administration_name=b.administration_name,
                        target=f"back-up {b.pk} (gepland)",
                        details={"origin": Backup.Origin.SCHEDULED},
                    )
                    for b in backups
                ]
            )
    except IntegrityError:
        # Someone pressed "Back-up maken" for one of these in the meantime: start them one by one instead.
        return _start_one_by_one(due)
    jobs_enqueue(jobs)
    return {job.administration_id: job for job in jobs if job.administration_id is not None}


def _start_one_by_one(due: list[BackupSchedule]) -> dict[int, Job]:
    from backups.services import BackupRefused, backup_create

    started = {}
    for schedule in due:
        try:
            job = backup_create(administration=schedule.administration, user=None, origin=Backup.Origin.SCHEDULED)
        except BackupRefused:
            continue
        if job.backup_id and job.backup is not None and job.backup.origin == Backup.Origin.SCHEDULED:
            started[schedule.administration_id] = job
    return started


def start_due_backups(*, now: dt.datetime | None = None, batch_size: int | None = None) -> dict[str, float]:
    """The periodic task (every minute): batch after batch until no schedule is due."""
    now = now or timezone.now()
    began = time.monotonic()
    totals = {"batches": 0, "picked": 0, "started": 0, "skipped": 0}
    while True:
        result = start_due_batch(now=now, batch_size=batch_size)
        if result.picked == 0:
            break
        totals["batches"] += 1
        totals["picked"] += result.picked
        totals["started"] += result.started
        totals["skipped"] += result.skipped
        if result.picked < (batch_size or settings.SCHEDULE_BATCH_SIZE):
            break
    seconds = time.monotonic() - began
    if totals["picked"]:
        logger.info("scheduler: %s in %.2fs", totals, seconds)
    return {**totals, "seconds": seconds}


def after_scheduled_backup(backup: Backup) -> None:
    """A scheduled back-up is ready: apply the schedule's retention and check it by a test-restore."""
    from backups import retention, verification

    schedule = (
        BackupSchedule.objects.filter(administration_id=backup.administration_id).first()
        if backup.administration_id
        else None
    )
    if schedule is not None:
        try:
            retention.apply(schedule)
        except Exception:
            logger.exception("retention round for schedule %s failed", schedule.pk)
    verification.verification_start(backup=backup, user=None)
