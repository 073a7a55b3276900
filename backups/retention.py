"""Retention per schedule, grandfather-father-son: keep the newest scheduled back-up of each of the last *d* days,
of each of the last *w* weeks (ISO weeks) and of each of the last *m* months that have one (local time); the rules
add up, a back-up kept by one rule counts for the others too.

Only ready scheduled back-ups in the administration's own overview are ever removed. Never removed: the newest
ready back-up of the administration (whatever its origin), and a back-up that a restore or a test-restore is
using. The schedule form shows `plan()` before saving; each removal is a line in the audit trail.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from administrations.models import Administration
from backups.models import Backup, BackupSchedule, Job
from portal import audit
from portal.models import AuditEvent

logger = logging.getLogger(__name__)

# Jobs that read a back-up's file while they run.
USING_KINDS = (Job.Kind.RESTORE, Job.Kind.VERIFY_RESTORE)


@dataclass(frozen=True)
class Rules:
    daily: int
    weekly: int
    monthly: int

    @classmethod
    def of(cls, schedule: BackupSchedule) -> Rules:
        return cls(int(schedule.keep_daily or 0), int(schedule.keep_weekly or 0), int(schedule.keep_monthly or 0))


def kept(moments: Sequence[tuple[Hashable, dt.datetime]], rules: Rules) -> set[Hashable]:
    """Which of (key, moment) the rules keep: per rule the newest of each period, for its n newest periods."""
    from backups.schedules import local_zone

    zone = local_zone()
    newest_first = sorted(moments, key=lambda item: item[1], reverse=True)
    periods: list[tuple[int, Callable[[dt.datetime], Any]]] = [
        (rules.daily, lambda t: t.date()),
        (rules.weekly, lambda t: t.isocalendar()[:2]),
        (rules.monthly, lambda t: (t.year, t.month)),
    ]
    keep: set[Hashable] = set()
    for count, period_of in periods:
        seen: set[Any] = set()
        for key, moment in newest_first:
            period = period_of(moment.astimezone(zone))
            if period in seen:
                continue
            if len(seen) >= count:
                break
            seen.add(period)
            keep.add(key)
    return keep


def candidates(administration: Administration) -> list[Backup]:
    return list(
        Backup.objects.filter(
            administration=administration,
            account_id=administration.account_id,
            origin=Backup.Origin.SCHEDULED,
            status=Backup.Status.READY,
            kept=True,
        ).order_by("-created_at", "-pk")
    )


def newest_ready(administration: Administration) -> int | None:
    return (
        Backup.objects.filter(administration=administration, status=Backup.Status.READY)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )


def in_use(administration: Administration) -> set[int]:
    jobs = Job.objects.unfinished().filter(kind__in=USING_KINDS, backup__administration=administration)
    return {pk for pk in jobs.values_list("backup_id", flat=True) if pk is not None}


NEXT = "next"


def plan(administration: Administration, rules: Rules, *, upcoming: dt.datetime | None = None) -> list[Backup]:
    """The back-ups a retention round would remove, oldest first. Without `upcoming`: a round now. With it (the
    next scheduled run): the round as it will happen, right after that back-up is made — which is then the newest
    ready back-up, so the current newest is no longer protected for being the newest."""
    backups = candidates(administration)
    moments: list[tuple[Hashable, dt.datetime]] = [(b.pk, b.created_at) for b in backups]
    never = in_use(administration)
    if upcoming is not None:
        moments.append((NEXT, upcoming))
    else:
        newest = newest_ready(administration)
        if newest is not None:
            never.add(newest)
    keep = kept(moments, rules)
    return sorted((b for b in backups if b.pk not in keep and b.pk not in never), key=lambda b: b.created_at)


def apply(schedule: BackupSchedule, *, now: dt.datetime | None = None) -> list[int]:
    """One retention round for the schedule's administration: remove what `plan` says, each removal audited.
    Each back-up is locked and checked again just before it goes, so one a restore picked up meanwhile stays."""
    from backups.services import backup_delete

    now = now or timezone.now()
    administration = schedule.administration
    rules = Rules.of(schedule)
    removed: list[int] = []
    for backup in plan(administration, rules):
        with transaction.atomic():
            locked = Backup.objects.select_for_update().filter(pk=backup.pk).first()
            if locked is None:
                continue
            if Job.objects.unfinished().filter(kind__in=USING_KINDS, backup_id=backup.pk).exists():
                continue
            audit.record(
                None,
                AuditEvent.Action.BACKUP_DELETED,
                administration=administration,
                account=administration.account,
                target=f"back-up {backup.pk} ({backup.administration_name}, {timezone.localtime(backup.created_at):%Y-%m-%d %H:%M})",
                reason="retention",
                rules={"daily": rules.daily, "weekly": rules.weekly, "monthly": rules.monthly},
                at=now.isoformat(),
            )
            backup_delete(backup=locked)
            removed.append(backup.pk)
    if removed:
        logger.info("retention for administration %s removed back-ups %s", administration.pk, removed)
    return removed
